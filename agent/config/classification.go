package config

import (
	"os"
	"path/filepath"
)

// Classification picks the classification.config to use: the configured one
// when it exists, else one shipped beside the rules (ET Open ships its own),
// else "" — classtypes then load without a category rather than failing.
func Classification(configured string, rulePaths []string) string {
	if configured != "" {
		if _, err := os.Stat(configured); err == nil {
			return configured
		}
	}
	for _, p := range rulePaths {
		dir := p
		if st, err := os.Stat(p); err != nil || !st.IsDir() {
			dir = filepath.Dir(p)
		}
		c := filepath.Join(dir, "classification.config")
		if _, err := os.Stat(c); err == nil {
			return c
		}
	}
	return ""
}
