// Package deploy tests what tapwatch ships for a host: deploy/install.sh
// (into a DESTDIR), tapwatchd under exactly the systemd unit's capability set
// on a namespace lab, and the libvirt hook script with the agent up, down and
// hung. The tests build bin/tapwatchd and bin/tapwatch into a temporary
// directory of their own, so they never race other users of ./bin.
package deploy
