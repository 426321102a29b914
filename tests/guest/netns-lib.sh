# shellcheck shell=bash
# netns-lib.sh: the two network namespaces of the network test and bench/net (sourced).
# Nothing here touches the host's own namespace; the addresses are link-local only.

# netns_bridge_pair NSA NSB BR PEER_CIDR: makes namespaces NSA and NSB; in NSA a bridge BR
# (up) with one veth port whose peer in NSB holds PEER_CIDR (a 169.254.0.0/16 address).
# Returns 1 when the namespaces cannot be made (then neither is left).
netns_bridge_pair() {
    case $4 in 169.254.*) ;; *) echo "netns_bridge_pair: '$4' is not link-local" >&2; return 1 ;; esac
    ip netns add "$1" 2>/dev/null || return 1
    ip netns add "$2" 2>/dev/null || { ip netns del "$1"; return 1; }
    ip -n "$1" link set lo up &&
        ip -n "$1" link add "$3" type bridge &&
        ip -n "$1" link set "$3" up &&
        ip -n "$1" link add veth-a type veth peer name veth-b netns "$2" &&
        ip -n "$1" link set veth-a master "$3" up &&
        ip -n "$2" link set lo up &&
        ip -n "$2" addr add "$4" dev veth-b &&
        ip -n "$2" link set veth-b up
}
