#!/bin/sh
# Builds bot-bottle and its init-only binary (cmd/bot-bottle-init) into
# DIR (default: bin), statically linked, as one pair: both carry the same
# fresh random build pair, which is how bot-bottle knows the
# bot-bottle-init beside it is its own build (see launcher/netns,
# samebuild.go). Without it, a build from a tree with changes, or on a
# machine whose Go sets -buildvcs=false, records nothing that tells its
# source apart, and bottles start from bot-bottle itself: as safe, slower.
set -eu
dir=${1:-bin}
case $dir in /*) ;; *) dir=$PWD/$dir ;; esac
cd "$(dirname "$0")/.."
pair=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
mkdir -p "$dir"
CGO_ENABLED=0 go build -ldflags "-X github.com/bot-bottle/bot-bottle/launcher/netns.buildPair=$pair" \
	-o "$dir/" . ./cmd/bot-bottle-init
