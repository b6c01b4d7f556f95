package fraud

import (
	"fmt"
	"strings"
)

// RowError is one bad row of a CSV import or CDR batch.
type RowError struct {
	Line int    // 1-based line of the file (or 1-based element of a JSON batch)
	Err  string // what is wrong and how to fix it
}

func (e RowError) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Err) }

// maxReportedRows bounds the rows a refused import's message lists (all
// are in its Rows).
const maxReportedRows = 50

// rowErrorsMessage is the message of a refused import: head with the count
// of bad rows, then each row on its own line, at most maxReportedRows of
// them. RatesError and CDRError share it so both read the same way.
func rowErrorsMessage(head string, rows []RowError) string {
	var b strings.Builder
	fmt.Fprintf(&b, head, len(rows))
	for i, r := range rows {
		if i == maxReportedRows {
			fmt.Fprintf(&b, "\n  ... and %d more", len(rows)-i)
			break
		}
		b.WriteString("\n  ")
		b.WriteString(r.Error())
	}
	return b.String()
}
