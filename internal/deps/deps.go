package deps

import (
	_ "github.com/emiago/sipgo"
	_ "github.com/golang-jwt/jwt/v5"
	_ "github.com/gopacket/gopacket/pcapgo"
	_ "github.com/ishidawataru/sctp"
	_ "github.com/nyaruka/phonenumbers"
	_ "github.com/pion/rtp"
	_ "github.com/prometheus/client_golang/prometheus"
	_ "github.com/spf13/cobra"
	_ "go.etcd.io/bbolt"
	_ "golang.org/x/crypto/ssh/terminal"
	_ "gopkg.in/yaml.v3"
)
