package replay

import (
	"github.com/tapwatch/tapwatch/rules"
	"github.com/tapwatch/tapwatch/rules/detect"
)

func compileEngine(rs []*rules.Rule, opts detect.Options) (func() detectWorker, error) {
	eng, err := detect.Compile(rs, opts)
	if err != nil {
		return nil, err
	}
	return func() detectWorker { return eng.NewWorker() }, nil
}
