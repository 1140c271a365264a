package storage

import (
	"fmt"
	"net"
	"net/url"
	"strings"
)

// Azurite's well-known development account (the same for every install),
// which UseDevelopmentStorage=true stands for.
const (
	DevAccountName = "devstoreaccount1"
	DevAccountKey  = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
	// DevBlobEndpoint and DevQueueEndpoint are where Azurite listens by default.
	DevBlobEndpoint  = "http://127.0.0.1:10000/" + DevAccountName
	DevQueueEndpoint = "http://127.0.0.1:10001/" + DevAccountName
)

// Account is a parsed storage connection string.
type Account struct {
	// Name is the account name ("" with a SAS-only connection string).
	Name string
	// BlobEndpoint and QueueEndpoint are the service URLs, without a
	// trailing slash.
	BlobEndpoint, QueueEndpoint string
	// Development is true for UseDevelopmentStorage=true.
	Development bool
	// conn is the connection string in the form the Azure SDK parses
	// (UseDevelopmentStorage=true expanded).
	conn string
}

// DevConnectionString is the connection string UseDevelopmentStorage=true
// stands for, as the Azure SDKs for .NET expand it.
func DevConnectionString() string {
	return "DefaultEndpointsProtocol=http;AccountName=" + DevAccountName + ";AccountKey=" + DevAccountKey +
		";BlobEndpoint=" + DevBlobEndpoint + ";QueueEndpoint=" + DevQueueEndpoint + ";"
}

// ParseConnectionString reads a storage connection string in the forms Azure
// documents: UseDevelopmentStorage=true, or key=value pairs separated by ";"
// with AccountName and AccountKey (or SharedAccessSignature) and either
// explicit BlobEndpoint/QueueEndpoint or DefaultEndpointsProtocol and
// EndpointSuffix. Key names are matched without regard to case, as the .NET
// parser does.
func ParseConnectionString(s string) (Account, error) {
	s = strings.TrimSpace(s)
	kv := map[string]string{}
	for i, part := range strings.Split(strings.TrimRight(s, ";"), ";") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		k, v, ok := strings.Cut(part, "=")
		if !ok {
			// Not quoted: the part may be a piece of a secret.
			return Account{}, fmt.Errorf("storage connection string: part %d is not a key=value pair", i+1)
		}
		kv[strings.ToLower(strings.TrimSpace(k))] = strings.TrimSpace(v)
	}
	if strings.EqualFold(kv["usedevelopmentstorage"], "true") {
		a, err := ParseConnectionString(DevConnectionString())
		a.Development = true
		return a, err
	}
	a := Account{Name: kv["accountname"]}
	key, sas := kv["accountkey"], kv["sharedaccesssignature"]
	if (a.Name == "" || key == "") && sas == "" {
		return Account{}, fmt.Errorf("storage connection string: needs AccountName and AccountKey, or SharedAccessSignature")
	}
	proto := kv["defaultendpointsprotocol"]
	if proto == "" {
		proto = "https"
	}
	suffix := kv["endpointsuffix"]
	if suffix == "" {
		suffix = "core.windows.net"
	}
	endpoint := func(service string) (string, error) {
		e := kv[service+"endpoint"]
		if e == "" {
			if a.Name == "" {
				return "", fmt.Errorf("storage connection string: needs %sEndpoint or AccountName", strings.ToUpper(service[:1])+service[1:])
			}
			e = proto + "://" + a.Name + "." + service + "." + suffix
		}
		u, err := url.Parse(e)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return "", fmt.Errorf("storage connection string: %sEndpoint %q is not an http(s) URL", service, e)
		}
		return strings.TrimRight(e, "/"), nil
	}
	var err error
	if a.BlobEndpoint, err = endpoint("blob"); err != nil {
		return Account{}, err
	}
	if a.QueueEndpoint, err = endpoint("queue"); err != nil {
		return Account{}, err
	}
	// The Go SDK's parser wants the exact key names; rebuild the string.
	var b strings.Builder
	if a.Name != "" {
		b.WriteString("AccountName=" + a.Name + ";")
	}
	if key != "" {
		b.WriteString("AccountKey=" + key + ";")
	}
	if sas != "" && key == "" {
		b.WriteString("SharedAccessSignature=" + strings.TrimPrefix(sas, "?") + ";")
	}
	b.WriteString("BlobEndpoint=" + a.BlobEndpoint + "/;QueueEndpoint=" + a.QueueEndpoint + "/")
	a.conn = b.String()
	return a, nil
}

// Local reports whether the account's endpoints are on this machine (Azurite).
func (a Account) Local() bool {
	for _, e := range []string{a.BlobEndpoint, a.QueueEndpoint} {
		u, err := url.Parse(e)
		if err != nil {
			return false
		}
		h := u.Hostname()
		if ip := net.ParseIP(h); h != "localhost" && (ip == nil || !ip.IsLoopback()) {
			return false
		}
	}
	return true
}

// String describes the account without its key.
func (a Account) String() string {
	name := a.Name
	if name == "" {
		name = "(SAS)"
	}
	if a.Development {
		return "development storage (Azurite, account " + name + ")"
	}
	return "account " + name + " (blobs " + a.BlobEndpoint + ", queues " + a.QueueEndpoint + ")"
}
