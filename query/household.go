package query

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/onegrid/onegrid/seal"
)

// Household is a household as those who serve it see it (capability
// households): its flat, members, tags and personal fields masked as stored.
// Never a feature collection or tile.
type Household struct {
	ID        int64    `json:"id"`
	AddressID int64    `json:"address_id"`
	Address   string   `json:"address"`
	Members   int      `json:"members"`
	Tags      []string `json:"tags"`
	HeadName  *string  `json:"head_name"`
	Phone     *string  `json:"phone"`
	IDNo      *string  `json:"id_no"`
	AdminCode *string  `json:"admin_code"`
	GridCode  *string  `json:"grid_code"`
	// Sealed says clear values are on record: a caller allowed to unmask may
	// ask for them with a reason.
	Sealed bool `json:"sealed"`
}

// HouseholdQuery selects the households of a unit (an admin or grid code and
// everything inside it), optionally with a tag, in pages ordered by id.
type HouseholdQuery struct {
	Unit  string
	Tag   string
	Limit int
	After int64 // keyset: the last id of the previous page
}

// Fingerprint identifies the query's filters, for cursors.
func (q HouseholdQuery) Fingerprint() uint32 { return Fingerprint("households", q.Unit, q.Tag) }

// HouseholdPage is one page of households.
type HouseholdPage struct {
	Households []Household
	More       bool
}

const (
	unitVisibleSQL = `SELECT EXISTS (SELECT 1 FROM grid WHERE code = $1) OR EXISTS (SELECT 1 FROM admin_area WHERE code = $1)`
	// The unit's prefix is an InitPlan, so inside() becomes a range on the
	// grid code's B-tree; row-level security adds the caller's jurisdiction.
	householdsSQL = `SELECT h.id, h.address_id, a.full_text, h.members, h.tags, h.head_name_masked, h.phone_masked, h.id_no_masked,
	h.admin_code, h.grid_code, household_sealed(h.id)
FROM household h JOIN address a ON a.id = h.address_id
WHERE inside(h.grid_code, (SELECT unit_prefix($1))) AND h.id > $2 AND ($3 = '' OR $3 = ANY (h.tags))
ORDER BY h.id LIMIT $4`
)

// Households returns a page of the households of q.Unit the caller may read
// (the database answers only households inside the jurisdiction, and only to
// callers who serve households). A unit the caller cannot see is ErrNotFound.
func (s *Store) Households(ctx context.Context, q HouseholdQuery) (*HouseholdPage, error) {
	var visible bool
	if err := s.db.QueryRow(ctx, unitVisibleSQL, q.Unit).Scan(&visible); err != nil {
		return nil, fmt.Errorf("households of %s: %w", q.Unit, err)
	}
	if !visible {
		return nil, ErrNotFound
	}
	page := &HouseholdPage{Households: []Household{}}
	rows, err := s.db.Query(ctx, householdsSQL, q.Unit, q.After, q.Tag, q.Limit+1)
	if err != nil {
		return nil, fmt.Errorf("households of %s: %w", q.Unit, err)
	}
	defer rows.Close()
	for rows.Next() {
		var h Household
		if err := rows.Scan(&h.ID, &h.AddressID, &h.Address, &h.Members, &h.Tags, &h.HeadName, &h.Phone, &h.IDNo,
			&h.AdminCode, &h.GridCode, &h.Sealed); err != nil {
			return nil, fmt.Errorf("households of %s: %w", q.Unit, err)
		}
		if len(page.Households) == q.Limit {
			page.More = true
			break
		}
		page.Households = append(page.Households, h)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("households of %s: %w", q.Unit, err)
	}
	return page, nil
}

// ParseHouseholdCursor decodes a households page cursor (opaque, from
// next_cursor) and checks it belongs to the query with fingerprint fp; "" is
// the first page.
func ParseHouseholdCursor(param, s string, fp uint32) (after int64, err error) {
	c, err := ParseCursor(param, s, fp)
	if err != nil || s == "" {
		return 0, err
	}
	after, err = strconv.ParseInt(c.After, 10, 64)
	if err != nil || after <= 0 || strconv.FormatInt(after, 10) != c.After {
		return 0, paramErr(param, "not a cursor from this API")
	}
	return after, nil
}

// HouseholdCursor is the cursor of the page after the household with id last.
func HouseholdCursor(q HouseholdQuery, last int64) string {
	return Cursor{After: strconv.FormatInt(last, 10), Query: q.Fingerprint()}.Encode()
}

// PersonalFields are the personal fields of a household that are kept sealed
// and may be unmasked.
var PersonalFields = []string{"head_name", "phone", "id_no"}

// UnmaskRequest is the body of an unmasking: which fields and why.
type UnmaskRequest struct {
	Fields []string `json:"fields"`
	Reason string   `json:"reason"`
}

// Limits of an unmasking's reason, in characters.
const (
	MinReason = 4
	MaxReason = 500
)

// MaxUnmaskBody bounds the body of an unmasking.
const MaxUnmaskBody = 4 << 10

// ParseUnmaskRequest reads an unmasking's JSON body: {"fields": [...],
// "reason": "..."}. Fields are some of PersonalFields (each once, in that
// order); the reason is required, MinReason..MaxReason characters of text
// without control characters. Errors name the member at fault and never echo
// the input.
func ParseUnmaskRequest(body []byte) (UnmaskRequest, error) {
	var raw struct {
		Fields *[]string `json:"fields"`
		Reason *string   `json:"reason"`
	}
	if len(body) > MaxUnmaskBody {
		return UnmaskRequest{}, paramErr("body", "larger than %d bytes", MaxUnmaskBody)
	}
	if !utf8.Valid(body) {
		return UnmaskRequest{}, paramErr("body", "not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&raw); err != nil {
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &te) && te.Field != "":
			return UnmaskRequest{}, paramErr(te.Field, "has the wrong type")
		case strings.HasPrefix(err.Error(), "json: unknown field"):
			return UnmaskRequest{}, paramErr("body", "an unknown member; want only fields and reason")
		}
		return UnmaskRequest{}, paramErr("body", "want a JSON object {\"fields\": [...], \"reason\": \"...\"}")
	}
	if dec.More() {
		return UnmaskRequest{}, paramErr("body", "want one JSON object")
	}
	var req UnmaskRequest
	if raw.Reason == nil {
		return req, paramErr("reason", "required: say why you need the clear values (it is written to the audit log)")
	}
	reason := strings.TrimSpace(*raw.Reason)
	switch n := utf8.RuneCountInString(reason); {
	case n < MinReason:
		return req, paramErr("reason", "required: at least %d characters saying why (it is written to the audit log)", MinReason)
	case n > MaxReason:
		return req, paramErr("reason", "at most %d characters", MaxReason)
	}
	if strings.IndexFunc(reason, func(r rune) bool { return unicode.IsControl(r) && r != '\n' && r != '\t' }) >= 0 {
		return req, paramErr("reason", "contains control characters")
	}
	if raw.Fields == nil || len(*raw.Fields) == 0 {
		return req, paramErr("fields", "required: some of %s", strings.Join(PersonalFields, ", "))
	}
	for _, f := range *raw.Fields {
		if !slices.Contains(PersonalFields, f) {
			return req, paramErr("fields", "unknown field; want some of %s", strings.Join(PersonalFields, ", "))
		}
	}
	for _, f := range PersonalFields {
		if slices.Contains(*raw.Fields, f) {
			req.Fields = append(req.Fields, f)
		}
	}
	req.Reason = reason
	return req, nil
}

// Errors of unmasking that are not the caller's.
var (
	// ErrNoDataKey: the server was started without a data key.
	ErrNoDataKey = errors.New("unmasking is not available: the server has no data key (--data-key-file)")
	// ErrDataKey: the values were sealed with a key the server does not hold.
	ErrDataKey = errors.New("the personal values were sealed with a data key this server does not hold")
)

// Unmasked is the answer of an unmasking: the clear values asked for (nil
// where none is on record).
type Unmasked struct {
	HouseholdID int64              `json:"household_id"`
	Values      map[string]*string `json:"values"`
	OnRecord    bool               `json:"on_record"`
}

// Unmask opens the sealed personal fields of one household. The database
// function unmask_household checks that the caller may unmask and that the
// household is in their jurisdiction, and writes the audit row (who, when,
// which household, which fields, why) in the caller's transaction: the values
// leave the database only with it, and the caller's commit keeps it. Nothing
// here logs a value.
func (s *Store) Unmask(ctx context.Context, key *seal.Key, id int64, req UnmaskRequest, requestID string) (*Unmasked, error) {
	if key == nil {
		return nil, ErrNoDataKey
	}
	out := &Unmasked{HouseholdID: id, Values: map[string]*string{}}
	for _, f := range req.Fields {
		out.Values[f] = nil
	}
	var keyID *string
	sealed := make([][]byte, len(PersonalFields))
	err := s.db.QueryRow(ctx, `SELECT key_id, head_name, phone, id_no FROM unmask_household($1, $2, $3, $4)`,
		id, req.Fields, req.Reason, requestID).Scan(&keyID, &sealed[0], &sealed[1], &sealed[2])
	if errors.Is(err, pgx.ErrNoRows) {
		return out, nil // audited; no values on record
	}
	if err != nil {
		return nil, fmt.Errorf("unmask household %d: %w", id, err)
	}
	out.OnRecord = true
	if keyID == nil || *keyID != key.ID() {
		return nil, ErrDataKey
	}
	for i, f := range PersonalFields {
		if sealed[i] == nil || !slices.Contains(req.Fields, f) {
			continue
		}
		v, err := key.Open(f, sealed[i])
		if err != nil {
			return nil, fmt.Errorf("unmask household %d: %w", id, ErrDataKey)
		}
		out.Values[f] = &v
	}
	return out, nil
}
