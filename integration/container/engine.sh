#!/bin/sh
# Container engine for the harness's container tests, on a Debian machine
# without Docker: Podman (runc runtime) serving a Docker-compatible API on a
# private socket, and a locally built Kafka image (nothing can be pulled).
#
#   engine.sh setup   install podman, runc, netavark, aardvark-dns and iptables with apt when
#                     missing; write /etc/containers/containers.conf
#   engine.sh image   build localhost/gregor-kafka:4.1.1 unless an image with
#                     the same inputs (jar list, start script, this recipe) exists
#   engine.sh up      setup + image + start the API service in the background
#   engine.sh down    stop the API service started by up
#   engine.sh env     print the environment the container tests need
#
# Every step says what it does; run as root (or with sudo available).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
state=${GREGOR_PODMAN_DIR:-/tmp/gregor-podman}
sock=$state/podman.sock
image=${GREGOR_KAFKA_IMAGE:-localhost/gregor-kafka:4.1.1}
kafka_home=${GREGOR_KAFKA_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/gregor/kafka-4.1.1}
recipe=1 # bump when the image recipe below changes
sudo=""
[ "$(id -u)" = 0 ] || sudo=sudo

say() { echo "engine.sh: $*"; }

setup() {
	missing=""
	command -v podman >/dev/null 2>&1 || missing="$missing podman"
	command -v runc >/dev/null 2>&1 || missing="$missing runc"
	command -v debootstrap >/dev/null 2>&1 || missing="$missing debootstrap"
	# netavark and aardvark-dns give container networks a DNS server that
	# resolves the network aliases; CNI's dnsname plugin lost aliases here.
	[ -x /usr/lib/podman/netavark ] || missing="$missing netavark"
	[ -x /usr/lib/podman/aardvark-dns ] || missing="$missing aardvark-dns"
	# netavark sets up a network's forwarding and NAT with iptables, which
	# apt only suggests; without it every container start fails with
	# "netavark: No such file or directory".
	[ -x /usr/sbin/iptables ] || missing="$missing iptables"
	if [ -n "$missing" ]; then
		say "installing with apt:$missing"
		$sudo apt-get update -q
		# shellcheck disable=SC2086
		$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing
	else
		say "podman, runc, debootstrap, netavark, aardvark-dns and iptables are installed"
	fi
	conf=/etc/containers/containers.conf
	want='# Written by gregor integration/container/engine.sh: runc (crun fails on
# hybrid cgroups), a nofile limit the host allows, netavark networks.
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=4096:4096"]
[engine]
runtime = "runc"
[network]
network_backend = "netavark"'
	if [ "$(cat "$conf" 2>/dev/null)" != "$want" ]; then
		say "writing $conf (runtime runc, nofile 20000, netavark)"
		$sudo mkdir -p /etc/containers
		printf '%s\n' "$want" | $sudo tee "$conf" >/dev/null
	else
		say "$conf is up to date"
	fi
}

# inputs_hash identifies what goes into the image: the jar names and sizes,
# the start script and the recipe number.
inputs_hash() {
	{
		echo "recipe=$recipe"
		(cd "$kafka_home/lib" && ls -l -- *.jar | awk '{print $5, $NF}')
		cat "$here/start.sh"
	} | sha256sum | cut -c1-16
}

# apt_mirror reads the Debian mirror from the machine's apt sources.
apt_mirror() {
	m=$(grep -hs '^URIs:' /etc/apt/sources.list.d/*.sources | awk '{print $2}' | grep -v security | head -n1)
	[ -n "$m" ] || m=$(grep -hs '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list | awk '{print $2}' | grep -v security | head -n1)
	[ -n "$m" ] || { say "no Debian mirror found in /etc/apt/sources.list.d or /etc/apt/sources.list" >&2; exit 1; }
	echo "$m"
}

build_image() {
	[ -d "$kafka_home/lib" ] || { say "no Kafka jars in $kafka_home/lib: run go run ./integration/cmd/kafka-install" >&2; exit 1; }
	hash=$(inputs_hash)
	have=$($sudo podman image inspect --format '{{index .Labels "org.gregorkafka.inputs"}}' "$image" 2>/dev/null || true)
	if [ "$have" = "$hash" ]; then
		say "image $image is up to date (inputs $hash), not rebuilding"
		return
	fi
	say "building image $image (inputs $hash; existing: ${have:-none})"
	begin=$(date +%s)
	root=$(mktemp -d /var/tmp/gregor-rootfs.XXXXXX)
	trap 'rm -rf "$root"' EXIT
	mirror=$(apt_mirror)
	say "debootstrap bookworm with openjdk-17-jre-headless from $mirror"
	$sudo debootstrap --variant=minbase --include=openjdk-17-jre-headless bookworm "$root" "$mirror" >"$root.log" 2>&1 ||
		{ tail -n 30 "$root.log" >&2; exit 1; }
	rm -f "$root.log"
	$sudo rm -rf "$root/var/cache/apt/archives"/*.deb "$root/var/lib/apt/lists"/*
	say "adding $(ls "$kafka_home/lib" | wc -l) Kafka jars and the start script"
	$sudo mkdir -p "$root/opt/kafka/libs" "$root/opt/gregor"
	$sudo cp "$kafka_home/lib"/*.jar "$root/opt/kafka/libs/"
	$sudo cp "$here/start.sh" "$root/opt/gregor/start.sh"
	old=$($sudo podman image inspect --format '{{.Id}}' "$image" 2>/dev/null || true)
	say "podman import"
	$sudo tar -C "$root" -c . | $sudo podman import \
		--change "LABEL org.gregorkafka.inputs=$hash" \
		--change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
		--change 'CMD ["/bin/sh", "/opt/gregor/start.sh"]' - "$image" >/dev/null
	$sudo rm -rf "$root"
	trap - EXIT
	if [ -n "$old" ]; then
		say "removing the previous image $old"
		$sudo podman rmi "$old" >/dev/null 2>&1 || true
	fi
	say "image $image built in $(($(date +%s) - begin)) s"
}

up() {
	setup
	build_image
	mkdir -p "$state"
	if [ -f "$state/service.pid" ] && kill -0 "$(cat "$state/service.pid")" 2>/dev/null; then
		say "podman API service already running (pid $(cat "$state/service.pid"))"
	else
		rm -f "$sock"
		say "starting podman system service on unix://$sock (log $state/service.log)"
		$sudo podman system service --time=0 "unix://$sock" >"$state/service.log" 2>&1 &
		echo $! >"$state/service.pid"
	fi
	i=0
	until [ -S "$sock" ]; do
		i=$((i + 1))
		[ $i -le 100 ] || { say "the podman service did not create $sock" >&2; cat "$state/service.log" >&2; exit 1; }
		sleep 0.1
	done
	say "podman API service ready"
}

down() {
	if [ -f "$state/service.pid" ]; then
		pid=$(cat "$state/service.pid")
		say "stopping podman system service (pid $pid)"
		kill "$pid" 2>/dev/null || true
		rm -f "$state/service.pid" "$sock"
	fi
	# Containers and networks of an interrupted test run.
	left=$($sudo podman ps -aq --filter label=org.gregorkafka.harness 2>/dev/null || true)
	if [ -n "$left" ]; then
		say "removing leftover harness containers: $left"
		# shellcheck disable=SC2086
		$sudo podman rm -f $left >/dev/null || true
	fi
	nets=$($sudo podman network ls -q --filter label=org.gregorkafka.harness 2>/dev/null || true)
	if [ -n "$nets" ]; then
		say "removing leftover harness networks: $nets"
		# shellcheck disable=SC2086
		$sudo podman network rm $nets >/dev/null || true
	fi
}

env_out() {
	echo "DOCKER_HOST=unix://$sock"
	echo "TESTCONTAINERS_RYUK_DISABLED=true"
	echo "TESTCONTAINERS_HOST_OVERRIDE=127.0.0.1"
	echo "GREGOR_KAFKA_IMAGE=$image"
}

case "${1:-}" in
setup) setup ;;
image) setup && build_image ;;
up) up ;;
down) down ;;
env) env_out ;;
*)
	echo "usage: $0 setup|image|up|down|env" >&2
	exit 2
	;;
esac
