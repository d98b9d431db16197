#!/usr/bin/env bash
# Installs tapwatch on this host, or into a staging tree for packaging (`make install`).
#
#   deploy/install.sh                          # as root, onto this host
#   DESTDIR=/tmp/pkg PREFIX=/usr deploy/install.sh   # into a staging tree (no root needed)
#
# Environment:
#   DESTDIR          staging root prepended to every path (default: empty = this host)
#   PREFIX           where bin/ goes (default: /usr); the unit and the hook are rewritten to match
#   SYSTEMDUNITDIR   systemd system unit directory (default: detected; /lib/systemd/system on
#                    Debian/Ubuntu, /usr/lib/systemd/system on RHEL/Fedora/SUSE and merged-/usr hosts)
#   SYSCONFDIR       default /etc;  LOCALSTATEDIR default /var
#   BINSRC           where the built binaries are (default: <repo>/bin; `make build` puts them there)
#
# What it does, each step idempotent (a second run changes nothing and says so):
#   PREFIX/bin/{tapwatchd,tapwatch}                       0755
#   SYSTEMDUNITDIR/tapwatchd.service                      0644
#   /etc/libvirt/hooks/qemu                               0755, unless a hook that is not ours is
#                                                         there: then /etc/libvirt/hooks/qemu.d/tapwatch
#                                                         (libvirt >= 6.5 runs qemu.d/*); a foreign
#                                                         hook is never overwritten
#   /etc/tapwatch/tapwatch.yaml                           0640, only when absent; else tapwatch.yaml.dist
#   /etc/tapwatch/rules/*.rules                           0644, only when absent or unmodified;
#                                                         a locally edited file is kept, ours goes
#                                                         beside it as NAME.dist (not loaded)
#   group tapwatch (system group), /var/log/tapwatch      0750 root:tapwatch
# With DESTDIR set, host state (groups, ownership, systemctl) is left alone: a package's
# postinst does that.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DESTDIR=${DESTDIR:-}
DESTDIR=${DESTDIR%/}
PREFIX=${PREFIX:-/usr}
PREFIX=${PREFIX%/}
SYSCONFDIR=${SYSCONFDIR:-/etc}
LOCALSTATEDIR=${LOCALSTATEDIR:-/var}
BINSRC=${BINSRC:-$ROOT/bin}
GROUP=tapwatch
MARKER='libvirt QEMU hook for tapwatch'

say() { printf 'install: %s\n' "$*"; }
die() { printf 'install: error: %s\n' "$*" >&2; exit 1; }

if [[ ${1:-} == -h || ${1:-} == --help ]]; then
	sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'
	exit 0
fi

ONHOST=1
[[ -n $DESTDIR ]] && ONHOST=0
if ((ONHOST)) && [[ $EUID -ne 0 ]]; then
	die "installing onto this host needs root (sudo make install), or set DESTDIR=/some/staging/dir"
fi
for b in tapwatchd tapwatch; do
	[[ -x $BINSRC/$b ]] || die "$BINSRC/$b not found: run 'make build' first (or set BINSRC)"
done

# The unit directory: systemd's own answer first, then the distribution's convention.
if [[ -z ${SYSTEMDUNITDIR:-} ]]; then
	if SYSTEMDUNITDIR=$(pkg-config --variable=systemdsystemunitdir systemd 2>/dev/null) && [[ -n $SYSTEMDUNITDIR ]]; then
		:
	else
		SYSTEMDUNITDIR=/lib/systemd/system
		id_like=
		if [[ -r /etc/os-release ]]; then
			id_like=$(. /etc/os-release; echo " ${ID:-} ${ID_LIKE:-} ")
		fi
		if [[ -e /etc/redhat-release || $id_like =~ \ (rhel|fedora|centos|suse|opensuse)\  ]]; then
			SYSTEMDUNITDIR=/usr/lib/systemd/system
		fi
	fi
fi

group_exists() { getent group "$GROUP" >/dev/null 2>&1; }

# put SRC DST MODE [GROUP]: installs SRC as DST when they differ; prints what happened.
put() {
	local src=$1 dst=$2 mode=$3 grp=${4:-}
	local what=installed
	if [[ -e $dst || -L $dst ]]; then
		if cmp -s "$src" "$dst"; then
			what=unchanged
		else
			what=updated
		fi
	fi
	if [[ $what != unchanged ]]; then
		mkdir -p "$(dirname "$dst")"   # only what is missing; existing directories keep their mode
		# Write beside the target and rename: a reader (libvirtd running the hook) never sees half
		# a file, and a running binary is replaced rather than written into (ETXTBSY).
		local tmp
		tmp=$(mktemp "$(dirname "$dst")/.$(basename "$dst").XXXXXX")
		cat "$src" >"$tmp"
		chmod "$mode" "$tmp"
		mv -f "$tmp" "$dst"
	fi
	# Modes and group are put right even on an unchanged file.
	chmod "$mode" "$dst"
	if ((ONHOST)) && [[ -n $grp ]] && group_exists; then
		chgrp "$grp" "$dst"
	fi
	say "$what ${dst#"$DESTDIR"}"
}

# subst FILE: a copy of FILE with /usr/bin/ paths moved to PREFIX/bin.
TMPD=$(mktemp -d)
trap 'rm -rf "$TMPD"' EXIT
subst() {
	local out=$TMPD/$(basename "$1")
	sed -e "s#/usr/bin/tapwatch#$PREFIX/bin/tapwatch#g" "$1" >"$out"
	echo "$out"
}

# 1. group, so files below can be given to it.
if ((ONHOST)); then
	if group_exists; then
		say "group $GROUP exists"
	else
		groupadd --system "$GROUP"
		say "created system group $GROUP (members may use the tapwatch CLI)"
	fi
else
	say "DESTDIR set: not creating group $GROUP (the package's postinst should: groupadd --system $GROUP)"
fi

# 2. binaries.
put "$BINSRC/tapwatchd" "$DESTDIR$PREFIX/bin/tapwatchd" 0755
put "$BINSRC/tapwatch" "$DESTDIR$PREFIX/bin/tapwatch" 0755

# 3. systemd unit.
put "$(subst "$ROOT/deploy/systemd/tapwatchd.service")" "$DESTDIR$SYSTEMDUNITDIR/tapwatchd.service" 0644

# 4. libvirt hook: ours at hooks/qemu unless someone else's is there.
HOOKDIR=$DESTDIR$SYSCONFDIR/libvirt/hooks
ours() { [[ -f $1 ]] && grep -qF "$MARKER" "$1"; }
hook_src=$(subst "$ROOT/deploy/libvirt/hooks/qemu")
NEWHOOK=0
if ours "$HOOKDIR/qemu.d/tapwatch" && ! ours "$HOOKDIR/qemu"; then
	# Installed there before (a foreign hook was at qemu): keep it there, even if that hook has
	# gone since, so libvirt never runs ours twice.
	hook_dst=$HOOKDIR/qemu.d/tapwatch
elif [[ -e $HOOKDIR/qemu || -L $HOOKDIR/qemu ]] && ! ours "$HOOKDIR/qemu"; then
	hook_dst=$HOOKDIR/qemu.d/tapwatch
	say "kept the existing foreign hook ${HOOKDIR#"$DESTDIR"}/qemu (not tapwatch's); installing ours in qemu.d/"
	if ((ONHOST)) && command -v libvirtd >/dev/null 2>&1; then
		v=$(libvirtd --version 2>/dev/null | grep -oE '[0-9]+\.[0-9]+' | head -1 || true)
		if [[ -n $v ]] && { ((${v%%.*} < 6)) || { ((${v%%.*} == 6)) && ((${v#*.} < 5)); }; }; then
			say "WARNING: libvirt $v runs no qemu.d/ scripts (needs >= 6.5): call '$PREFIX/bin/tapwatch hook qemu \"\$@\"' from your hook instead"
		fi
	fi
else
	hook_dst=$HOOKDIR/qemu
fi
[[ -e $hook_dst ]] || NEWHOOK=1
put "$hook_src" "$hook_dst" 0755

# 5. configuration: an operator's file is never replaced.
ETC=$DESTDIR$SYSCONFDIR/tapwatch
mkdir -p "$ETC/rules"
chmod 0750 "$ETC" "$ETC/rules"
((ONHOST)) && group_exists && chgrp "$GROUP" "$ETC" "$ETC/rules"
if [[ ! -e $ETC/tapwatch.yaml ]]; then
	put "$ROOT/deploy/tapwatch.yaml" "$ETC/tapwatch.yaml" 0640 "$GROUP"
elif cmp -s "$ROOT/deploy/tapwatch.yaml" "$ETC/tapwatch.yaml"; then
	say "unchanged ${SYSCONFDIR}/tapwatch/tapwatch.yaml"
	rm -f "$ETC/tapwatch.yaml.dist"
else
	say "kept ${SYSCONFDIR}/tapwatch/tapwatch.yaml (locally changed); the shipped one is tapwatch.yaml.dist"
	put "$ROOT/deploy/tapwatch.yaml" "$ETC/tapwatch.yaml.dist" 0640 "$GROUP"
fi

# 6. rules: the shipped files; one edited locally is kept and ours goes beside it as .dist
# (only *.rules files load, so the .dist is inert).
for r in "$ROOT"/deploy/rules/*.rules; do
	[[ -e $r ]] || continue
	dst=$ETC/rules/$(basename "$r")
	if [[ -e $dst ]] && ! cmp -s "$r" "$dst"; then
		say "kept ${dst#"$DESTDIR"} (locally changed); the shipped one is $(basename "$dst").dist"
		put "$r" "$dst.dist" 0644 "$GROUP"
	else
		rm -f "$dst.dist"
		put "$r" "$dst" 0644 "$GROUP"
	fi
done

# 7. log directory (systemd's LogsDirectory= creates it too; this covers other init systems).
LOGDIR=$DESTDIR$LOCALSTATEDIR/log/tapwatch
if [[ -d $LOGDIR ]]; then
	say "exists ${LOCALSTATEDIR}/log/tapwatch"
else
	install -d -m 0750 "$LOGDIR"
	say "created ${LOCALSTATEDIR}/log/tapwatch"
fi
chmod 0750 "$LOGDIR"
((ONHOST)) && group_exists && chgrp "$GROUP" "$LOGDIR"

# 8. tell systemd, if it runs here.
if ((ONHOST)) && [[ -d /run/systemd/system ]] && command -v systemctl >/dev/null 2>&1; then
	systemctl daemon-reload && say "systemctl daemon-reload"
fi

echo
say "done. Next steps:"
if ((NEWHOOK)); then
	say "  * restart libvirtd so it notices the new hook file ${hook_dst#"$DESTDIR"}:"
	say "      systemctl restart libvirtd   (running VMs keep running; edits to an existing hook apply at once)"
else
	say "  * the hook ${hook_dst#"$DESTDIR"} was already there: libvirtd uses the new content at once"
	say "    (libvirtd only notices a NEW hook file when it restarts: systemctl restart libvirtd)"
fi
say "  * systemctl enable --now tapwatchd"
say "  * add CLI users to the group: usermod -aG $GROUP USER"
