package keyword

// OpKind says which test an Op is.
type OpKind uint8

// Op kinds.
const (
	OpContent OpKind = iota
	OpPcre
	OpByteTest
	OpByteJump
	OpByteExtract
	OpIsDataAt
	OpBsize // bsize/urilen/bufferlen: the buffer's length
	// OpBase64Decode decodes part of the buffer (base64_decode.go); the
	// ops after the OpBase64Data marker that follows it (base64_data.go)
	// then inspect the decoded bytes.
	OpBase64Decode
	OpBase64Data
)

// noVar marks a numeric field that holds a literal, not a byte_extract variable.
const noVar = -1

// Num is an int value that may instead name a byte_extract variable.
type Num struct {
	V   int64
	Var int8 // index into Sig.Vars, or noVar
	Set bool
}

// value resolves n against the extracted variables.
func (n Num) value(vars *[MaxVars]int64) int64 {
	if n.Var >= 0 {
		return vars[n.Var]
	}
	return n.V
}

// MaxVars bounds byte_extract variables per rule (Suricata allows a few too).
const MaxVars = 8

// Op is one payload or buffer test in rule order. One struct for every
// kind keeps evaluation a switch, with no interface calls or allocation.
type Op struct {
	Kind OpKind
	Buf  Buffer

	// content
	Pat         []byte
	Nocase      bool
	Negated     bool
	RawBytes    bool
	StartsWith  bool
	EndsWith    bool
	FastPattern bool
	FPOnly      bool
	FPOff       int
	FPLen       int
	Offset      Num
	Depth       Num
	Distance    Num
	Within      Num

	// Relative means the op is positioned after the previous match
	// (distance/within, pcre R, byte_* relative, isdataat relative).
	Relative bool

	Pcre  *Pcre
	Byte  *ByteOp
	Isdat *IsDataAt
	Size  NumCmp
	B64   *Base64Decode

	modSet bool
}
