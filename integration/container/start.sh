#!/bin/sh
# Start script of a Gregor harness Kafka node in a container. The harness
# copies it, with server.properties and log4j2.properties, into /gregor and
# sets GREGOR_NODE_ID, GREGOR_CLUSTER_ID, GREGOR_FORMAT_ARGS and
# GREGOR_JVM_OPTS, and GREGOR_WAIT_HOSTS to the controllers' network aliases.
# Kafka refuses to start when a voter's name does not resolve yet, which
# happens while the other containers are still starting: wait for them first.
# The first start formats the node's storage; every start
# then replaces this shell with the broker JVM (exec), so that the
# container's stop signal reaches Kafka directly.
set -eu
set -f # the --add-scram arguments contain brackets: no globbing
libs=${GREGOR_KAFKA_LIBS:-/opt/kafka/libs}
data=${GREGOR_DATA_DIR:-/tmp/gregor-data}
echo "==== gregor harness: starting node ${GREGOR_NODE_ID:-?} at $(date -u '+%Y-%m-%dT%H:%M:%SZ') ===="
if [ -n "${GREGOR_WAIT_HOSTS:-}" ] && command -v getent >/dev/null 2>&1; then
	for h in $GREGOR_WAIT_HOSTS; do
		i=0
		until getent hosts "$h" >/dev/null; do
			i=$((i + 1))
			if [ $i -gt 600 ]; then
				echo "gregor harness: $h does not resolve after 60 s" >&2
				exit 1
			fi
			sleep 0.1
		done
	done
	echo "gregor harness: resolved $GREGOR_WAIT_HOSTS"
fi
if [ ! -f "$data/meta.properties" ]; then
	# shellcheck disable=SC2086 # GREGOR_FORMAT_ARGS is a word list
	java -Xmx256m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -cp "$libs/*" kafka.tools.StorageTool \
		format -c /gregor/server.properties -t "$GREGOR_CLUSTER_ID" ${GREGOR_FORMAT_ARGS:-}
fi
# shellcheck disable=SC2086 # GREGOR_JVM_OPTS is a word list
exec java ${GREGOR_JVM_OPTS:-} -Dlog4j2.configurationFile=/gregor/log4j2.properties -cp "$libs/*" kafka.Kafka /gregor/server.properties
