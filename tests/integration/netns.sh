# A two-host lab: two network namespaces joined by a veth pair, each end
# with a /24 address.  Sourced by the integration tests (lib.sh), the demo
# and the benchmarks; it only defines a function.
#
#   netns_pair SRV_NS CLI_NS SRV_IF CLI_IF SRV_IP CLI_IP
#
# The caller removes the namespaces (`ip netns del`) when it is done.
netns_pair() {
	ip netns add "$1" || return 1
	ip netns add "$2" || return 1
	ip link add "$3" netns "$1" type veth peer name "$4" netns "$2" || return 1
	ip -n "$1" addr add "$5/24" brd + dev "$3"
	ip -n "$2" addr add "$6/24" brd + dev "$4"
	for ns in "$1" "$2"; do
		ip -n "$ns" link set lo up
	done
	ip -n "$1" link set "$3" up
	ip -n "$2" link set "$4" up
}
