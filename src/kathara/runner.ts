// The shell a Kathará device runs at boot (as one `startup:` step): service shims for images
// without systemd (systemctl/service -> /etc/init.d), Quagga configs moved onto FRR, then
// shared.startup and DEVICE.startup under bash, a failing command reported as file:line:col.
// Pure text; the reader puts it in each device's files.

/** Where the runner and the lab's scripts live inside a device. */
export const KATHARA_DIR = '/etc/umlab-kathara';
export const RUNNER = `${KATHARA_DIR}/run`;

/** Daemons whose Quagga/FRR unit names all mean "FRR" (one watchfrr starts them from /etc/frr/daemons). */
const ROUTING_DAEMONS = 'quagga|zebra|ripd|ripngd|ospfd|ospf6d|bgpd|isisd|babeld|pimd|ldpd|nhrpd|eigrpd|staticd|bfdd|fabricd|vrrpd|pathd';

/** Every FRR daemon, for stopping them. */
const FRR_DAEMONS = 'zebra mgmtd bgpd ripd ripngd ospfd ospf6d isisd babeld pimd pim6d ldpd nhrpd eigrpd sharpd pbrd staticd bfdd fabricd vrrpd pathd';

const SHIM = `#!/bin/sh
# umlab: systemctl and service without systemd, as Kathara images use them: /etc/init.d/NAME ACTION.
me=\${0##*/}
if [ "$me" = service ]; then
  unit=$1; action=$2; [ $# -ge 2 ] && shift 2 || shift $#
else
  action=$1; [ $# -ge 1 ] && shift
  case "$action" in
    daemon-reload|enable|disable|mask|unmask|reset-failed) exit 0 ;;
    is-enabled) echo enabled; exit 0 ;;
    --version) echo "umlab systemctl shim"; exit 0 ;;
  esac
  unit=$1; [ $# -ge 1 ] && shift
fi
[ -n "$unit" ] || { echo "usage: $me start|stop|restart|status NAME" >&2; exit 2; }
unit=\${unit%.service}
case "$unit" in
  ${ROUTING_DAEMONS}) /usr/local/sbin/umlab-quagga-to-frr; unit=frr ;;
  bind9|bind) [ -x /etc/init.d/named ] && unit=named ;;
  apache|httpd) unit=apache2 ;;
  dhcpd) unit=isc-dhcp-server ;;
esac
if [ "$unit" = frr ]; then
  daemons="${FRR_DAEMONS}"
  # watchfrr kills a start that takes over 20 s, and the config is never applied (vtysh -b comes
  # last): on a loaded machine UML VMs start FRR's daemons slower than that. Unless the lab says.
  # On a line of its own: the corpus's daemons files often end without a newline.
  grep -q '^watchfrr_options=' /etc/frr/daemons 2>/dev/null || printf '\\nwatchfrr_options="--restart-timeout 300"\\n' >> /etc/frr/daemons
  case "$action" in
    # "systemctl start zebra; systemctl start ripd": FRR starts once and runs every daemon of /etc/frr/daemons.
    start) pidof watchfrr >/dev/null 2>&1 && exit 0 ;;
    # frrinit.sh's stop waits up to 2 minutes for zebra, which does not always exit under UML: watchfrr
    # first (it would restart the others), then the daemons, killed if they have not gone in 3 s.
    stop|restart|force-reload)
      pids=$(pidof watchfrr); [ -n "$pids" ] && kill $pids 2>/dev/null
      pids=$(pidof $daemons); [ -n "$pids" ] && kill $pids 2>/dev/null
      for i in 1 2 3 4 5 6 7 8 9 10; do pidof watchfrr $daemons >/dev/null 2>&1 || break; sleep 0.3; done
      pids=$(pidof watchfrr $daemons); [ -n "$pids" ] && kill -9 $pids 2>/dev/null
      rm -f /var/run/frr/*.pid
      [ "$action" = stop ] && { echo "Stopped FRR"; exit 0; }
      action=start ;;
  esac
fi
[ -x "/etc/init.d/$unit" ] || { echo "$me: no service $unit (no /etc/init.d/$unit in this image)" >&2; exit 5; }
exec "/etc/init.d/$unit" "$action" "$@"
`;

/** Quagga's per-daemon configs and daemons file -> FRR's (run before FRR starts; a lab that ships
 *  /etc/frr keeps its own). Kathará's Quagga images keep them in /etc/quagga, Netkit's in /etc/zebra;
 *  the reader has already moved their lines onto FRR (translate.ts). */
const QUAGGA_TO_FRR = `#!/bin/sh
# umlab: run a Quagga lab on FRR. /etc/quagga/daemons (Netkit: /etc/zebra/daemons) turns daemons on
# in /etc/frr/daemons; zebra.conf, ripd.conf, ... become one integrated /etc/frr/frr.conf.
for dir in /etc/quagga /etc/zebra; do [ -d $dir ] && break; done
[ -d $dir ] || exit 0
if [ -f $dir/daemons ]; then
  for d in $(sed -n 's/^[[:space:]]*\\([a-z0-9]*\\)[[:space:]]*=[[:space:]]*"\\{0,1\\}yes.*/\\1/p' $dir/daemons); do
    sed -i "s/^$d=no/$d=yes/" /etc/frr/daemons
  done
fi
confs=$(ls $dir/*.conf 2>/dev/null | grep -v -e vtysh.conf -e debian.conf)
if [ -n "$confs" ]; then
  for f in $confs; do cat "$f"; echo; done | sed 's#/var/run/quagga#/var/run/frr#g' > /etc/frr/frr.conf
  # A per-daemon config given in Quagga form turns that daemon on too.
  for f in $confs; do d=\${f##*/}; d=\${d%.conf}; sed -i "s/^$d=no/$d=yes/" /etc/frr/daemons; done
  chown frr:frr /etc/frr/frr.conf 2>/dev/null
fi
exit 0
`;

const INIT_ALIAS = (name: string) => `#!/bin/sh
# umlab: /etc/init.d/${name} of a Quagga lab runs FRR.
exec /usr/local/sbin/service ${name} "$@"
`;

/** The runner: `bash ${RUNNER} startup|shutdown DEVICE SHOWN_DIR`. */
export function runnerScript(): string {
  const aliases = ['quagga', 'zebra', 'ripd', 'ospfd', 'bgpd', 'ospf6d', 'ripngd', 'isisd'];
  return `#!/bin/bash
# umlab: a Kathara/Netkit device's ${'$'}1 scripts (shared first, then the device's own), as Kathara runs them.
mode=$1 dev=$2 shown=$3
install_file() { # PATH MODE: stdin to PATH (again at every boot: a kept disk may hold an older one)
  mkdir -p "\${1%/*}" && cat > "$1" && chmod "$2" "$1"
}
if [ "$mode" = startup ]; then
  [ -x /usr/bin/systemctl ] || [ -x /bin/systemctl ] || install_file /usr/local/sbin/systemctl 755 <<'UMLAB_SHIM'
${SHIM}UMLAB_SHIM
  # Debian's own service(8) asks systemd when it can; without it, the shim does the same as it.
  install_file /usr/local/sbin/service 755 <<'UMLAB_SHIM'
${SHIM}UMLAB_SHIM
  install_file /usr/local/sbin/umlab-quagga-to-frr 755 <<'UMLAB_SHIM'
${QUAGGA_TO_FRR}UMLAB_SHIM
  # The lab's per-daemon FRR files (bgpd.conf, ...) without a frr.conf of its own: FRR reads them only
  # when there is no integrated frr.conf, and the image has one (Kathará's image has none).
  [ -f ${KATHARA_DIR}/frr-per-daemon ] && rm -f /etc/frr/frr.conf
  if { [ -d /etc/quagga ] || [ -d /etc/zebra ]; } && [ -x /etc/init.d/frr ]; then
${aliases.map((a) => `    install_file /etc/init.d/${a} 755 <<'UMLAB_SHIM'\n${INIT_ALIAS(a)}UMLAB_SHIM`).join('\n')}
  fi
  for f in $(cat ${KATHARA_DIR}/executables 2>/dev/null); do chmod 755 "$f"; done
  # What systemd-tmpfiles makes at boot and init scripts expect (/var/lock is /run/lock).
  mkdir -p /run/lock && chmod 1777 /run/lock
  # The device's own name resolves, as in a container (or Debian's 127.0.1.1): daemons such as
  # apache2 look it up at start and would otherwise wait for a DNS server the lab cannot reach.
  h=$(hostname)
  grep -q "[[:space:]]$h\\([[:space:]]\\|\\$\\)" /etc/hosts || echo "127.0.1.1	$h" >> /etc/hosts
fi
# Netkit and Kathara run the scripts from the lab directory, /hostlab.
cd /hostlab 2>/dev/null || cd /
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
status=0
# shared.startup runs first, shared.shutdown last (as in Kathara).
[ "$mode" = startup ] && order="shared $dev" || order="$dev shared"
for name in $order; do
  f=${KATHARA_DIR}/$name.$mode
  [ -f "$f" ] || continue
  # Each command that fails is named with its line; the script's own exit status decides.
  bash -c 'trap '"'"'rc=$?; [ -n "\${BASH_SOURCE[0]}" ] && echo "$0:$LINENO:1: this command failed (exit $rc)" >&2'"'"' ERR; . "$1"' "$shown/$name.$mode" "$f" || {
    rc=$?; echo "$shown/$name.$mode: exit status $rc" >&2; status=$rc; }
  [ $status = 0 ] || break
done
exit $status
`;
}
