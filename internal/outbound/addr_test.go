package outbound

import (
	"strings"
	"testing"
)

func TestAddrClass(t *testing.T) {
	refused := map[string]string{
		"127.0.0.1":                "loopback",
		"127.255.0.9":              "loopback",
		"::1":                      "loopback",
		"0.0.0.0":                  "unspecified",
		"::":                       "unspecified",
		"0.1.2.3":                  "this-network",
		"169.254.169.254":          "instance metadata",
		"169.254.1.1":              "link-local",
		"fe80::1":                  "link-local",
		"fe80::1%eth0":             "link-local",
		"10.0.0.1":                 "private",
		"172.16.0.1":               "private",
		"172.31.255.255":           "private",
		"192.168.1.1":              "private",
		"100.64.0.1":               "shared",
		"100.127.255.255":          "shared",
		"fc00::1":                  "unique-local",
		"fd12:3456::1":             "unique-local",
		"fec0::1":                  "site-local",
		"224.0.0.1":                "multicast",
		"239.255.255.250":          "multicast",
		"ff02::1":                  "multicast",
		"255.255.255.255":          "broadcast",
		"240.0.0.1":                "reserved",
		"168.63.129.16":            "Azure platform",
		"::ffff:127.0.0.1":         "IPv4-mapped loopback",
		"::ffff:169.254.169.254":   "IPv4-mapped link-local",
		"::ffff:10.1.2.3":          "IPv4-mapped private",
		"::ffff:0.0.0.0":           "IPv4-mapped unspecified",
		"::127.0.0.1":              "IPv4-compatible loopback",
		"::10.0.0.1":               "IPv4-compatible private",
		"::203.0.113.7":            "IPv4-compatible (deprecated)",
		"64:ff9b::127.0.0.1":       "NAT64 loopback",
		"64:ff9b::a9fe:a9fe":       "NAT64 link-local",
		"2002:7f00:1::1":           "6to4 loopback",
		"2002:a00:1::1":            "6to4 private",
		"::ffff:255.255.255.255":   "IPv4-mapped broadcast",
		"::ffff:100.64.0.1":        "IPv4-mapped shared",
		"::ffff:224.0.0.1":         "IPv4-mapped multicast",
		"::ffff:192.168.0.1":       "IPv4-mapped private",
		"::ffff:172.16.0.1":        "IPv4-mapped private",
		"64:ff9b::ffff:ffff":       "NAT64 broadcast",
		"::ffff:168.63.129.16":     "IPv4-mapped Azure platform",
		"2002:a9fe:a9fe::1":        "6to4 link-local",
		"::ffff:127.0.0.1%eth0":    "IPv4-mapped loopback",
		"fd00:ec2::254":            "unique-local",
		"::ffff:100.100.100.200":   "IPv4-mapped shared",
		"::ffff:192.168.255.255":   "IPv4-mapped private",
		"64:ff9b::192.168.0.1":     "NAT64 private",
		"64:ff9b::100.64.0.1":      "NAT64 shared",
		"64:ff9b::224.0.0.1":       "NAT64 multicast",
		"64:ff9b::240.0.0.1":       "NAT64 reserved",
		"64:ff9b::0.0.0.0":         "NAT64 unspecified",
		"::ffff:240.0.0.1":         "IPv4-mapped reserved",
		"::ffff:0.1.2.3":           "IPv4-mapped this-network",
		"2002:c0a8:101::1":         "6to4 private",
		"ff05::1:3":                "multicast",
		"fe80::a9fe:a9fe":          "link-local",
		"::ffff:169.254.1.1":       "IPv4-mapped link-local",
		"64:ff9b::169.254.169.254": "NAT64 link-local (instance metadata endpoint)",
	}
	for s, want := range refused {
		got := addrClass(mustAddr(t, s))
		if got == "" || !strings.Contains(got, want) {
			t.Errorf("addrClass(%s) = %q, want it to contain %q", s, got, want)
		}
	}
	for _, s := range []string{
		"203.0.113.7", "8.8.8.8", "1.1.1.1", "172.32.0.1", "100.128.0.1", "169.255.0.1", "11.0.0.1",
		"2001:db8::1", "2606:4700::1111", "::ffff:8.8.8.8", "64:ff9b::8.8.8.8", "2002:808:808::1", "223.255.255.255",
	} {
		if got := addrClass(mustAddr(t, s)); got != "" {
			t.Errorf("addrClass(%s) = %q, want it allowed", s, got)
		}
	}
}
