#!/bin/sh
# A test host's network namespace and its veth pair on the world bridge (IPv4 only, no default
# route: a host can reach the bridge's subnet and nothing else).
# The host's MAC is fixed (derived from its address), so neighbours' ARP caches stay right when
# a host is reset and its veth pair made anew.
# Usage: host-net.sh up NETNS VETH ADDR/PREFIX BRIDGE
#        host-net.sh down NETNS VETH
set -eu
case "$1" in
up)
  ns=$2 veth=$3 addr=$4 br=$5
  mac=$(echo "${addr%/*}" | awk -F. '{ printf "02:00:%02x:%02x:%02x:%02x", $1, $2, $3, $4 }')
  ip netns add "$ns"
  ip link add "$veth" type veth peer name eth0 address "$mac" netns "$ns"
  echo 1 > "/proc/sys/net/ipv6/conf/$veth/disable_ipv6"
  ip link set "$veth" master "$br" up
  ip netns exec "$ns" sh -c 'echo 1 > /proc/sys/net/ipv6/conf/eth0/disable_ipv6'
  ip -n "$ns" addr add "$addr" dev eth0
  ip -n "$ns" link set eth0 up
  ip -n "$ns" link set lo up
  ;;
down)
  ns=$2 veth=$3
  if ip link show dev "$veth" >/dev/null 2>&1; then ip link del "$veth"; fi
  if [ -e "/run/netns/$ns" ]; then ip netns del "$ns"; fi
  ;;
*)
  echo "usage: $0 up|down ..." >&2; exit 2 ;;
esac
