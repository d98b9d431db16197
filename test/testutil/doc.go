// Package testutil holds helpers shared by the module's tests.
//
// Tests that need a real kernel: privilege checks, network namespaces with
// their own netlink handles, tap devices played by the test as a VM, and
// crafted frames. Everything such a helper creates is removed by t.Cleanup;
// no traffic leaves the namespaces it creates.
//
// Tests that read data: the module root, the shared corpus beside it
// (../shared/corpus) and its suricata-verify index, and captures read into
// per-connection flows with TCP streams reassembled (ReadFlows, built on
// rules/decode).
//
// A missing prerequisite (root, the corpus) skips the test, or fails it
// when CI=true, where a skip would hide a gap.
//
// The package imports rules/decode and test/sv, so their own tests that use
// it are external test packages (decode_test); it must not import agent/
// packages.
package testutil
