# Network test beds made by the tests themselves: namespaces joined by veth
# pairs, with iptables for loss and NAT. Only these namespaces' own addresses
# are ever used (10.231.0.0/16, inside them). Source after tests/lib.sh.

NETNS=()

# netns_usable: true when namespaces, veth and iptables' statistic match work
# here; otherwise prints why to stdout (for a SKIP line).
netns_usable() {
	local probe="ic-probe-$$"
	if [ "$(id -u)" -ne 0 ]; then echo "needs root for network namespaces"; return 1; fi
	command -v iptables > /dev/null || { echo "iptables is not installed"; return 1; }
	ip netns add "$probe" 2> /dev/null || { echo "cannot create a network namespace here"; return 1; }
	if ! ip netns exec "$probe" iptables -A INPUT -m statistic --mode random --probability 0.2 -j DROP 2> /dev/null; then
		ip netns del "$probe"
		echo "iptables' statistic match is not available"
		return 1
	fi
	ip netns del "$probe"
	return 0
}

# netns_new NAME: a namespace with loopback up, removed when the test ends.
netns_new() {
	ip netns add "$1" || return 1
	NETNS+=("$1")
	ip -n "$1" link set lo up
}

# netns_link NS_A ADDR_A NS_B ADDR_B: a veth pair between two namespaces
# (addresses in CIDR form).
netns_link() {
	local a="va$$${#NETNS[@]}$RANDOM" b="vb$$${#NETNS[@]}$RANDOM"
	a=${a:0:15}; b=${b:0:15}
	ip link add "$a" netns "$1" type veth peer name "$b" netns "$3" || return 1
	ip -n "$1" addr add "$2" dev "$a" && ip -n "$1" link set "$a" up
	ip -n "$3" addr add "$4" dev "$b" && ip -n "$3" link set "$b" up
}

# netns_loss NS PROBABILITY: drop that share of packets at random, both ways.
netns_loss() {
	ip netns exec "$1" iptables -A INPUT -m statistic --mode random --probability "$2" -j DROP &&
		ip netns exec "$1" iptables -A OUTPUT -m statistic --mode random --probability "$2" -j DROP
}

finish_extra() {
	local ns
	for ns in "${NETNS[@]}"; do ip netns del "$ns" 2> /dev/null; done
}

# netns_nat NS INSIDE_CIDR: NS forwards packets and masquerades those from
# INSIDE_CIDR (a home router, or a carrier's CGNAT).
netns_nat() {
	ip netns exec "$1" sysctl -qw net.ipv4.ip_forward=1 &&
		ip netns exec "$1" iptables -t nat -A POSTROUTING -s "$2" -j MASQUERADE
}

# netns_route NS VIA: the default route of NS.
netns_route() { ip -n "$1" route add default via "$2"; }

# netns_iface NS: the name of NS's (first) veth interface.
netns_iface() { ip -n "$1" -o link show type veth | awk -F': ' '{print $2}' | cut -d@ -f1 | head -n 1; }
