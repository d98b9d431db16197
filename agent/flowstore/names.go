package flowstore

import (
	"database/sql"
	"fmt"
	"slices"
	"strings"
)

// Names are the application-layer names flows revealed, by kind, each
// kind's values in the order first seen. Kinds are spelled as the
// detection core's flow.NameKind: "http.server", "tls.cert" and
// "ssh.server" come from the server; "http.user_agent", "http.host",
// "tls.sni", "dns.query" and "ssh.client" from the client.
type Names map[string][]string

// MaxServiceNames bounds the values of one kind a Service carries: the
// distinct names of its most recent flows first.
const MaxServiceNames = 8

// encode stores names as one "kind<TAB>value" line per name, kinds in
// order. The detection core keeps no control characters in a name, so
// neither separator can occur inside one; decodeNames skips lines that
// do not have the shape anyway.
func (n Names) encode() string {
	if len(n) == 0 {
		return ""
	}
	kinds := make([]string, 0, len(n))
	for k := range n {
		kinds = append(kinds, k)
	}
	slices.Sort(kinds)
	var b strings.Builder
	for _, k := range kinds {
		if k == "" || strings.ContainsAny(k, "\t\n") {
			continue
		}
		for _, v := range n[k] {
			if v == "" || strings.ContainsAny(v, "\t\n") {
				continue
			}
			b.WriteString(k)
			b.WriteByte('\t')
			b.WriteString(v)
			b.WriteByte('\n')
		}
	}
	return b.String()
}

func decodeNames(s string) Names {
	var n Names
	n.merge(s, 0)
	return n
}

// merge adds the names encoded in s that *n lacks, keeping at most max
// values per kind (0: no bound).
func (n *Names) merge(s string, max int) {
	for line := range strings.Lines(s) {
		k, v, ok := strings.Cut(strings.TrimSuffix(line, "\n"), "\t")
		if !ok || k == "" || v == "" {
			continue
		}
		if *n == nil {
			*n = Names{}
		}
		vs := (*n)[k]
		if (max > 0 && len(vs) >= max) || slices.Contains(vs, v) {
			continue
		}
		(*n)[k] = append(vs, v)
	}
}

// schemaVersion is the flow table's layout, kept in SQLite's user_version:
// 0 is the first layout, 1 added the names column.
const schemaVersion = 1

// migrate brings a database written by an older tapwatch to
// schemaVersion. Its records are kept; columns they lack read as empty.
func migrate(db *sql.DB) error {
	var v int
	if err := db.QueryRow(`PRAGMA user_version`).Scan(&v); err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	if v >= schemaVersion {
		// A newer tapwatch may have added columns; the queries here name
		// theirs, so its database still reads.
		return nil
	}
	tx, err := db.Begin()
	if err != nil {
		return fmt.Errorf("migrate schema %d to %d: %w", v, schemaVersion, err)
	}
	defer tx.Rollback()
	// A table this version created already has the column; one from
	// version 0 gains it.
	var has int
	if err := tx.QueryRow(`SELECT count(*) FROM pragma_table_info('flows') WHERE name = 'names'`).Scan(&has); err != nil {
		return fmt.Errorf("migrate schema %d to %d: inspect flows: %w", v, schemaVersion, err)
	}
	if has == 0 {
		if _, err := tx.Exec(`ALTER TABLE flows ADD COLUMN names TEXT NOT NULL DEFAULT ''`); err != nil {
			return fmt.Errorf("migrate schema %d to %d: add names (disk full or database read-only?): %w", v, schemaVersion, err)
		}
	}
	// PRAGMA takes no bound parameters; the value is a constant.
	if _, err := tx.Exec(fmt.Sprintf(`PRAGMA user_version = %d`, schemaVersion)); err != nil {
		return fmt.Errorf("migrate schema %d to %d: set version: %w", v, schemaVersion, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("migrate schema %d to %d: commit: %w", v, schemaVersion, err)
	}
	return nil
}
