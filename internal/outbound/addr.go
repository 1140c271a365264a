package outbound

import "net/netip"

// Address ranges refused beyond what netip's predicates name.
var (
	thisNetwork  = netip.MustParsePrefix("0.0.0.0/8")
	sharedV4     = netip.MustParsePrefix("100.64.0.0/10")
	reservedV4   = netip.MustParsePrefix("240.0.0.0/4")
	broadcastV4  = netip.MustParseAddr("255.255.255.255")
	metadataV4   = netip.MustParseAddr("169.254.169.254")
	azureWire    = netip.MustParseAddr("168.63.129.16")
	uniqueLocal  = netip.MustParsePrefix("fc00::/7")
	siteLocal    = netip.MustParsePrefix("fec0::/10")
	v4Compatible = netip.MustParsePrefix("::/96")
	nat64        = netip.MustParsePrefix("64:ff9b::/96")
	sixToFour    = netip.MustParsePrefix("2002::/16")
)

// addrClass returns the class of an address the address rules refuse, for
// messages ("loopback", "IPv4-mapped private", ...), or "" when it may be
// dialled. Zones are ignored.
func addrClass(a netip.Addr) string {
	if !a.IsValid() {
		return "invalid"
	}
	a = a.WithZone("")
	if a.Is4() {
		return v4Class(a)
	}
	if a.Is4In6() {
		return embedded("IPv4-mapped", a.Unmap())
	}
	switch {
	case a.IsUnspecified():
		return "unspecified"
	case a.IsLoopback():
		return "loopback"
	case a.IsLinkLocalUnicast():
		return "link-local"
	case a.IsMulticast():
		return "multicast"
	case uniqueLocal.Contains(a):
		return "unique-local"
	case siteLocal.Contains(a):
		return "site-local (deprecated)"
	}
	b := a.As16()
	switch {
	case v4Compatible.Contains(a):
		if c := embedded("IPv4-compatible", netip.AddrFrom4([4]byte(b[12:16]))); c != "" {
			return c
		}
		return "IPv4-compatible (deprecated)"
	case nat64.Contains(a):
		return embedded("NAT64", netip.AddrFrom4([4]byte(b[12:16])))
	case sixToFour.Contains(a):
		return embedded("6to4", netip.AddrFrom4([4]byte(b[2:6])))
	}
	return ""
}

// embedded names the class of an IPv4 address carried in an IPv6 form, or
// "" when the IPv4 address is not refused.
func embedded(form string, v4 netip.Addr) string {
	if c := v4Class(v4); c != "" {
		return form + " " + c
	}
	return ""
}

// v4Class is addrClass for IPv4 addresses.
func v4Class(a netip.Addr) string {
	switch {
	case a == broadcastV4:
		return "broadcast"
	case a.IsUnspecified():
		return "unspecified"
	case thisNetwork.Contains(a):
		return "this-network (0.0.0.0/8)"
	case a.IsLoopback():
		return "loopback"
	case a == metadataV4:
		return "link-local (instance metadata endpoint)"
	case a.IsLinkLocalUnicast():
		return "link-local"
	case a.IsPrivate():
		return "private"
	case sharedV4.Contains(a):
		return "shared (100.64.0.0/10)"
	case a.IsMulticast():
		return "multicast"
	case reservedV4.Contains(a):
		return "reserved (240.0.0.0/4)"
	case a == azureWire:
		return "Azure platform (168.63.129.16)"
	}
	return ""
}
