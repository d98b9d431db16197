// Package testutil holds helpers for tests that need a real kernel: privilege
// checks, network namespaces with their own netlink handles, tap devices
// played by the test as a VM, and crafted frames. Everything a helper creates
// is removed by t.Cleanup; no traffic leaves the namespaces it creates.
package testutil
