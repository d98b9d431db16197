package stream

import "github.com/tapwatch/tapwatch/rules/decode"

// Track updates the connection state with p travelling in dir: handshake,
// FIN, RST and the peer's acknowledgements (used to skip holes the capture
// missed). It does not reassemble; see Session for how it pairs with Process.
func (s *Session) Track(p *decode.Packet, dir Dir) {
	s.tracked = true
	dir &= 1
	flags := p.TCPFlags
	me, peer := &s.half[dir], &s.half[dir^1]

	if flags&decode.TCPAck != 0 && peer.init {
		// Remember the furthest acknowledgement of the peer's data: it proves
		// the receiver got bytes the capture may have missed.
		if !peer.ackValid || int32(p.TCPAck-peer.ack) > 0 {
			peer.ack, peer.ackValid = p.TCPAck, true
		}
		peer.noteAck(p.TCPAck)
	}

	if flags&decode.TCPRst != 0 {
		if s.state == StateNone {
			return
		}
		if me.init && !me.rstInWindow(p.TCPSeq) {
			// An RST far from anything this side sent is a forgery (or an
			// evasion attempt to stop inspection), as Suricata judges it.
			s.reasm(me).stats.RejectedRST++
			return
		}
		s.rst = true
		s.state = StateClosed
		return
	}
	if me.init {
		end := p.TCPSeq + uint32(len(p.Payload))
		if !me.highValid || int32(end-me.high) > 0 {
			me.high, me.highValid = end, true
		}
	}

	switch s.state {
	case StateNone:
		s.trackNone(p, dir, flags)
	case StateSynSent:
		switch {
		case dir == s.synDir && flags&(decode.TCPSyn|decode.TCPAck) == decode.TCPSyn:
			// A resent SYN may carry a new ISN (a client retrying).
			me.start(p.TCPSeq + 1)
			s.noteSyn(p)
		case dir != s.synDir && flags&(decode.TCPSyn|decode.TCPAck) == decode.TCPSyn|decode.TCPAck &&
			s.synAckMatches(p.TCPAck, peer):
			me.start(p.TCPSeq + 1)
			if hasFastOpen(p.TCPOpts) {
				s.tfo = true
			}
			if s.tfo {
				// Suricata deems a Fast Open session established on the
				// SYN/ACK: the server may answer before the final ACK.
				s.setEstablished()
			} else {
				s.state = StateSynRecv
			}
		case dir != s.synDir && flags&(decode.TCPSyn|decode.TCPAck) == decode.TCPSyn:
			// A split handshake (four- or five-way: the server answers
			// the SYN with a SYN of its own, the client then sends the
			// SYN/ACK). Hosts accept it, so Suricata follows it too.
			me.start(p.TCPSeq + 1)
			s.split = true
		case dir == s.synDir && s.split && flags&(decode.TCPSyn|decode.TCPAck) == decode.TCPSyn|decode.TCPAck &&
			p.TCPAck == peer.nextSeq:
			me.start(p.TCPSeq + 1)
			s.state = StateSynRecv
		case dir == s.synDir && s.pool.cfg.AsyncOneside && flags&(decode.TCPSyn|decode.TCPRst) == 0 &&
			flags&decode.TCPAck != 0 && (p.TCPSeq == me.nextSeq || s.synData > 0 && p.TCPSeq == me.nextSeq+s.synData):
			// Only the client's side crosses this sensor: its ACK after the
			// SYN completes the handshake we cannot see.
			peer.start(p.TCPAck)
			s.async = true
			s.setEstablished()
			s.fin(me, p, dir)
		}
	case StateSynRecv:
		switch {
		case dir != s.synDir && flags&decode.TCPSyn != 0 && flags&decode.TCPAck != 0:
			me.start(p.TCPSeq + 1) // SYN/ACK resent
		case (dir == s.synDir) != s.split && flags&decode.TCPSyn == 0 && flags&decode.TCPAck != 0 &&
			p.TCPAck == peer.nextSeq:
			// The last ACK of the handshake: the client's, or in a split
			// handshake the server's.
			s.setEstablished()
			s.fin(me, p, dir)
		case dir != s.synDir && s.pool.cfg.AsyncOneside && flags&decode.TCPSyn == 0 && flags&decode.TCPAck != 0 &&
			p.TCPSeq == me.nextSeq:
			// Only the server's side of the connection crosses this
			// sensor (asymmetric routing): its first segment after the
			// SYN/ACK proves the handshake completed (Suricata's
			// stream.async-oneside).
			s.async = true
			s.setEstablished()
			s.fin(me, p, dir)
		}
	default: // established and closing states
		s.fin(me, p, dir)
	}
}

// trackNone handles the first packet a session sees.
func (s *Session) trackNone(p *decode.Packet, dir Dir, flags uint8) {
	me, peer := &s.half[dir], &s.half[dir^1]
	switch {
	case flags&(decode.TCPSyn|decode.TCPAck) == decode.TCPSyn:
		s.synDir = dir
		s.state = StateSynSent
		me.start(p.TCPSeq + 1)
		s.noteSyn(p)
	case !s.pool.cfg.Midstream:
		// Suricata without stream.midstream tracks nothing until a SYN: no
		// established state, no reassembly (suricata-verify
		// alert-no-3whs-established).
	case flags&(decode.TCPSyn|decode.TCPAck) == decode.TCPSyn|decode.TCPAck:
		s.mid = true
		s.synDir = dir ^ 1
		s.state = StateSynRecv
		me.start(p.TCPSeq + 1)
		peer.start(p.TCPAck)
	default:
		s.mid = true
		// The flow table decided who the client is (possibly not this
		// packet's sender); the session follows it.
		s.synDir = ToServer
		s.setEstablished()
		me.start(p.TCPSeq)
		if flags&decode.TCPAck != 0 {
			peer.start(p.TCPAck)
		}
		s.fin(me, p, dir)
	}
}

// noteSyn records what the client's SYN p says about TCP Fast Open: with
// the Fast Open option its payload is the first bytes of the client's
// stream (Process buffers them). Without the option the payload is not
// stream data and the server must acknowledge the SYN alone, as Suricata
// judges it.
func (s *Session) noteSyn(p *decode.Packet) {
	s.synData = 0
	if hasFastOpen(p.TCPOpts) {
		s.tfo = true
		s.synData = uint32(len(p.Payload))
	}
}

// synAckMatches reports whether a SYN/ACK acknowledging ack answers the
// client's SYN (client being the SYN's sender): it acknowledges the SYN,
// or with Fast Open the SYN and its data. A Fast Open server that
// acknowledges only the SYN dropped the data (the client sends it again
// after the handshake), so the buffered copy goes too.
func (s *Session) synAckMatches(ack uint32, client *half) bool {
	if ack == client.nextSeq {
		if s.synData > 0 {
			client.start(client.nextSeq)
			s.synData = 0
		}
		return true
	}
	return s.synData > 0 && ack == client.nextSeq+s.synData
}

// hasFastOpen reports whether TCP options opts hold the Fast Open option
// (kind 34, or the experimental kind 254 with magic 0xF989).
func hasFastOpen(opts []byte) bool {
	_, ok := decode.FindTCPOption(opts, func(kind byte, o []byte) bool {
		return kind == 34 || kind == 254 && len(o) >= 4 && o[2] == 0xf9 && o[3] == 0x89
	})
	return ok
}

func (s *Session) setEstablished() {
	s.state = StateEstablished
	s.est = true
}

// fin moves the closing states along when dir sends FIN, and to closed on
// the acknowledgement that follows both FINs.
func (s *Session) fin(me *half, p *decode.Packet, dir Dir) {
	if p.TCPFlags&decode.TCPFin == 0 {
		if me.fin || s.half[dir^1].fin {
			if s.half[0].fin && s.half[1].fin && p.TCPFlags&decode.TCPAck != 0 {
				s.state = StateClosed
			} else if s.state == StateFinWait1 && dir != s.synDir {
				s.state = StateFinWait2
			}
		}
		return
	}
	if me.fin {
		return // FIN resent
	}
	me.fin = true
	client := dir == s.synDir
	switch s.state {
	case StateEstablished:
		if client {
			s.state = StateFinWait1
		} else {
			s.state = StateCloseWait
		}
	case StateFinWait1:
		s.state = StateClosing
	case StateFinWait2:
		s.state = StateTimeWait
	case StateCloseWait:
		s.state = StateLastAck
	}
}
