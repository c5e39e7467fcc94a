// Drives a Graph tenant (the local tenant in tests) with Microsoft.Graph and Azure.Identity as any .NET
// program would: sign-in, list with paging, filters, create, update, delete, restore, delta, $batch and
// directory extension properties. One JSON line per step on stdout; exit code 1 on the first failure.
//
//   GraphSdkProbe --authority-host URL --tenant-id ID --client-id ID --graph-endpoint URL --ca-file PEM
//                 [--certificate-file PEM] [--prefix NAME] [--domain DOMAIN]
//
// The client secret comes from GRAPH_PROBE_CLIENT_SECRET (not the command line, which others can read),
// unless --certificate-file names a PEM file with the app's certificate and private key.
//
// Every option can also come from the environment as GRAPH_PROBE_<NAME> (GRAPH_PROBE_TENANT_ID, ...).
// Only client options differ from a program against graph.microsoft.com: the authority host, no instance
// discovery (a non-Microsoft authority), the Graph host the token may be sent to, and the lab's CA as the
// only trusted root. Certificate validation stays on.
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Azure.Core.Pipeline;
using Azure.Identity;
using Microsoft.Graph;
using Microsoft.Graph.Authentication;
using Microsoft.Graph.Models;
using Microsoft.Graph.Models.ODataErrors;

var options = Options.Parse(args);
var ca = X509Certificate2.CreateFromPem(File.ReadAllText(options.Require("ca-file")));
// GRAPH_PROBE_TRACE=1 writes each request and answer to stderr (not the credential or the token), to see what
// the SDK sends.
HttpMessageHandler LabTls()
{
    var tls = new SocketsHttpHandler
    {
        SslOptions = new SslClientAuthenticationOptions
        {
            RemoteCertificateValidationCallback = (_, cert, _, errors) => Tls.TrustedByLabCa(ca, cert, errors),
        },
    };
    return Environment.GetEnvironmentVariable("GRAPH_PROBE_TRACE") == "1" ? new Trace { InnerHandler = tls } : tls;
}

// A client secret, or a certificate (a PEM file with the certificate and its private key), as the app has.
var authorityHost = new Uri(options.Require("authority-host"));
Azure.Core.TokenCredential credential = options.Get("certificate-file") is { } certificateFile
    ? new ClientCertificateCredential(options.Require("tenant-id"), options.Require("client-id"), certificateFile,
        new ClientCertificateCredentialOptions
        {
            AuthorityHost = authorityHost, DisableInstanceDiscovery = true,
            Transport = new HttpClientTransport(new HttpClient(LabTls())),
        })
    : new ClientSecretCredential(options.Require("tenant-id"), options.Require("client-id"),
        options.Require("client-secret"), new ClientSecretCredentialOptions
        {
            AuthorityHost = authorityHost, DisableInstanceDiscovery = true,
            Transport = new HttpClientTransport(new HttpClient(LabTls())),
        });
var graphEndpoint = new Uri(options.Require("graph-endpoint"));
var scopes = new[] { $"{graphEndpoint.GetLeftPart(UriPartial.Authority)}/.default" };
var auth = new AzureIdentityAuthenticationProvider(credential, new[] { graphEndpoint.Host }, null, true, scopes);
var client = new GraphServiceClient(GraphClientFactory.Create(finalHandler: LabTls()), auth,
    $"{graphEndpoint.GetLeftPart(UriPartial.Authority)}/v1.0");

var prefix = options.Get("prefix") ?? $"sdk{Guid.NewGuid():N}"[..13];
var domain = options.Get("domain") ?? "contoso.com";
var probe = new Probe();

await probe.Step("signin", async () =>
{
    var token = await credential.GetTokenAsync(new Azure.Core.TokenRequestContext(scopes), default);
    var org = await client.Organization.GetAsync();
    return new() { ["expiresOn"] = token.ExpiresOn.ToString("o"), ["tenantId"] = org?.Value?.Single().Id };
});

var users = new List<User>();
await probe.Step("create", async () =>
{
    for (var i = 0; i < 5; i++)
    {
        users.Add((await client.Users.PostAsync(new User
        {
            AccountEnabled = true,
            DisplayName = $"{prefix} user {i}",
            MailNickname = $"{prefix}{i}",
            UserPrincipalName = $"{prefix}{i}@{domain}",
            PasswordProfile = new PasswordProfile { Password = $"P@ss-{Guid.NewGuid():N}", ForceChangePasswordNextSignIn = true },
        }))!);
    }
    return new() { ["ids"] = users.Select(u => u.Id).ToList() };
});

await probe.Step("list_paging", async () =>
{
    var page = await client.Users.GetAsync(r =>
    {
        r.QueryParameters.Filter = $"startswith(displayName,'{prefix} ')";
        r.QueryParameters.Top = 2;
        r.QueryParameters.Select = new[] { "id", "displayName" };
    });
    var seen = new List<string>();
    var pages = 1;
    var iterator = PageIterator<User, UserCollectionResponse>.CreatePageIterator(client, page!, user =>
    {
        seen.Add(user.Id!);
        return true;
    }, request => { pages++; return request; });
    await iterator.IterateAsync();
    return new() { ["pages"] = pages, ["ids"] = seen };
});

await probe.Step("filter", async () =>
{
    var target = users[3];
    var found = await client.Users.GetAsync(r =>
        r.QueryParameters.Filter = $"userPrincipalName eq '{target.UserPrincipalName}'");
    var counted = await client.Users.Count.GetAsync(r =>
    {
        r.QueryParameters.Filter = $"startswith(displayName,'{prefix} ')";
        r.Headers.Add("ConsistencyLevel", "eventual");
    });
    return new() { ["ids"] = found!.Value!.Select(u => u.Id).ToList(), ["count"] = counted };
});

// Delta: the first round ends in a deltaLink; the update below must show up in the next round.
string? deltaLink = null;
await probe.Step("delta_initial", async () =>
{
    var response = await client.Users.Delta.GetAsDeltaGetResponseAsync(r =>
        r.QueryParameters.Select = new[] { "id", "displayName", "jobTitle" });
    var rounds = 1;
    while (response!.OdataNextLink is { } next)
    {
        response = await client.Users.Delta.WithUrl(next).GetAsDeltaGetResponseAsync();
        rounds++;
    }
    deltaLink = response.OdataDeltaLink;
    return new() { ["rounds"] = rounds, ["deltaLink"] = deltaLink != null };
});

await probe.Step("update", async () =>
{
    await client.Users[users[0].Id].PatchAsync(new User { JobTitle = "Probe engineer", Department = "SDK" });
    var user = await client.Users[users[0].Id].GetAsync(r =>
        r.QueryParameters.Select = new[] { "id", "jobTitle", "department" });
    return new() { ["id"] = user!.Id, ["jobTitle"] = user.JobTitle, ["department"] = user.Department };
});

await probe.Step("delta_changes", async () =>
{
    var response = await client.Users.Delta.WithUrl(deltaLink!).GetAsDeltaGetResponseAsync();
    var changed = new List<User>(response!.Value!);
    while (response.OdataNextLink is { } next)
    {
        response = await client.Users.Delta.WithUrl(next).GetAsDeltaGetResponseAsync();
        changed.AddRange(response!.Value!);
    }
    var mine = changed.FirstOrDefault(u => u.Id == users[0].Id);
    return new() { ["ids"] = changed.Select(u => u.Id).ToList(), ["jobTitle"] = mine?.JobTitle,
                   ["deltaLink"] = response.OdataDeltaLink != null };
});

await probe.Step("delete", async () =>
{
    await client.Users[users[1].Id].DeleteAsync();
    var status = await StatusOf(() => client.Users[users[1].Id].GetAsync());
    var deleted = await client.Directory.DeletedItems[users[1].Id].GetAsync();
    return new() { ["id"] = users[1].Id, ["getStatus"] = status, ["inDeletedItems"] = deleted?.Id == users[1].Id };
});

await probe.Step("restore", async () =>
{
    var restored = await client.Directory.DeletedItems[users[1].Id].Restore.PostAsync();
    var user = await client.Users[users[1].Id].GetAsync();
    return new() { ["id"] = restored?.Id, ["userPrincipalName"] = user?.UserPrincipalName };
});

await probe.Step("batch", async () =>
{
    var batch = new BatchRequestContentCollection(client);
    var getId = await batch.AddBatchRequestStepAsync(client.Users[users[2].Id].ToGetRequestInformation());
    var patchId = await batch.AddBatchRequestStepAsync(
        client.Users[users[2].Id].ToPatchRequestInformation(new User { OfficeLocation = "Batch 1" }));
    var groupId = await batch.AddBatchRequestStepAsync(client.Groups.ToPostRequestInformation(new Group
    {
        DisplayName = $"{prefix} group", MailEnabled = false, MailNickname = $"{prefix}g", SecurityEnabled = true,
    }));
    var response = await client.Batch.PostAsync(batch);
    var statuses = await response.GetResponsesStatusCodesAsync();
    var fetched = await response.GetResponseByIdAsync<User>(getId);
    var group = await response.GetResponseByIdAsync<Group>(groupId);
    var after = await client.Users[users[2].Id].GetAsync(r => r.QueryParameters.Select = new[] { "officeLocation" });
    return new()
    {
        ["statuses"] = statuses.ToDictionary(s => s.Key == getId ? "get" : s.Key == patchId ? "patch" : "createGroup",
                                             s => (int)s.Value),
        ["fetchedId"] = fetched.Id, ["groupId"] = group.Id, ["officeLocation"] = after?.OfficeLocation,
    };
});

await probe.Step("extension_property", async () =>
{
    var app = await client.ApplicationsWithAppId(options.Require("client-id")).GetAsync();
    var name = $"p{prefix}";
    var extension = await client.Applications[app!.Id].ExtensionProperties.PostAsync(new ExtensionProperty
    {
        Name = name, DataType = "String", TargetObjects = new List<string> { "User" },
    });
    await client.Users[users[4].Id].PatchAsync(new User
    {
        AdditionalData = new Dictionary<string, object> { [extension!.Name!] = "probe-value" },
    });
    var found = await client.Users.GetAsync(r =>
    {
        r.QueryParameters.Filter = $"{extension.Name} eq 'probe-value'";
        r.QueryParameters.Select = new[] { "id", extension.Name! };
    });
    var listed = await client.Applications[app.Id].ExtensionProperties.GetAsync();
    return new()
    {
        ["name"] = extension.Name, ["listed"] = listed!.Value!.Any(e => e.Name == extension.Name),
        ["ids"] = found!.Value!.Select(u => u.Id).ToList(),
        ["value"] = found.Value!.FirstOrDefault()?.AdditionalData is { } data && data.TryGetValue(extension.Name!, out var v)
            ? v?.ToString() : null,
    };
});

await probe.Step("error_shape", async () =>
{
    try
    {
        await client.Users[Guid.NewGuid().ToString()].GetAsync();
        return new() { ["raised"] = false };
    }
    catch (ODataError error)
    {
        return new() { ["raised"] = true, ["status"] = error.ResponseStatusCode, ["code"] = error.Error?.Code,
                       ["requestId"] = error.Error?.InnerError?.RequestId };
    }
});

return 0;

static async Task<int> StatusOf(Func<Task> call)
{
    try
    {
        await call();
        return 200;
    }
    catch (ODataError error)
    {
        return error.ResponseStatusCode;
    }
}

sealed class Probe
{
    public async Task Step(string name, Func<Task<Dictionary<string, object?>>> body)
    {
        var started = DateTime.UtcNow;
        Dictionary<string, object?> line;
        try
        {
            line = new() { ["step"] = name, ["ok"] = true };
            foreach (var (key, value) in await body())
                line[key] = value;
        }
        catch (Exception error)
        {
            var detail = error is ODataError odata
                ? $"{odata.ResponseStatusCode} {odata.Error?.Code}: {odata.Error?.Message}"
                : error is ServiceException service
                ? $"{service.ResponseStatusCode} {service.Message}: {service.RawResponseBody}"
                : $"{error.GetType().Name}: {error.Message}{(error.InnerException is { } inner ? $" ({inner.GetType().Name}: {inner.Message})" : "")}";
            line = new() { ["step"] = name, ["ok"] = false, ["error"] = detail };
        }
        line["ms"] = (int)(DateTime.UtcNow - started).TotalMilliseconds;
        Console.WriteLine(JsonSerializer.Serialize(line));
        if (line["ok"] is false)
            Environment.Exit(1);
    }
}

static class Tls
{
    // The lab CA is the only trusted root: a chain to it, and the name must match (no other error forgiven).
    public static bool TrustedByLabCa(X509Certificate2 ca, X509Certificate? cert, SslPolicyErrors errors)
    {
        if (cert is null || (errors & ~SslPolicyErrors.RemoteCertificateChainErrors) != SslPolicyErrors.None)
            return false;
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(ca);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        using var leaf = new X509Certificate2(cert);
        return chain.Build(leaf);
    }
}

sealed class Options
{
    private readonly Dictionary<string, string> values = new();

    public static Options Parse(string[] args)
    {
        var options = new Options();
        for (var i = 0; i < args.Length; i++)
        {
            if (!args[i].StartsWith("--") || i + 1 >= args.Length)
                Fail($"Unexpected argument '{args[i]}': options are --name value.");
            options.values[args[i][2..]] = args[++i];
        }
        return options;
    }

    public string? Get(string name) => values.TryGetValue(name, out var value) ? value
        : Environment.GetEnvironmentVariable("GRAPH_PROBE_" + name.ToUpperInvariant().Replace('-', '_'));

    public string Require(string name) => Get(name) ?? Fail($"Missing --{name} (or GRAPH_PROBE_"
        + name.ToUpperInvariant().Replace('-', '_') + ").");

    private static string Fail(string message)
    {
        Console.Error.WriteLine(message);
        Environment.Exit(2);
        return "";
    }
}

sealed class Trace : DelegatingHandler
{
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken token)
    {
        // Token requests carry the credential and their answers the token: neither is written.
        var secret = request.RequestUri!.AbsolutePath.EndsWith("/oauth2/v2.0/token");
        var body = request.Content is null || secret ? "" : await request.Content.ReadAsStringAsync(token);
        Console.Error.WriteLine($"> {request.Method} {request.RequestUri} {body}");
        HttpResponseMessage response;
        try
        {
            response = await base.SendAsync(request, token);
        }
        catch (Exception error)
        {
            Console.Error.WriteLine($"! {error}");
            throw;
        }
        Console.Error.WriteLine($"< {(int)response.StatusCode} "
            + (secret ? "" : await response.Content.ReadAsStringAsync(token)));
        return response;
    }
}
