package ingest

import "github.com/onegrid/onegrid/seal"

// Clear personal values. With a data key (Options.DataKey) a households load
// keeps head_name, phone and id_no also in clear, sealed (package seal) before
// they leave the loader, in household_personal: unmasking with a reason opens
// them. The staging table carries only sealed bytes. A row is linked to its
// household by (dataset, id): its id, or its position in the file.

// keyID is the data key's id for household_personal.key_id ("" without one).
func keyID(k *seal.Key) string {
	if k == nil {
		return ""
	}
	return k.ID()
}

const (
	personalInsert = `INSERT INTO household_personal (household_id, key_id, head_name, phone, id_no)
SELECT h.id, @key_id, s.head_name_sealed, s.phone_sealed, s.id_no_sealed
FROM ingest_stage s JOIN household h ON h.dataset = @dataset AND h.dataset_id = s.id
WHERE s.rreason IS NULL AND (s.head_name_sealed IS NOT NULL OR s.phone_sealed IS NOT NULL OR s.id_no_sealed IS NOT NULL)
ON CONFLICT (household_id) DO NOTHING`
)

func init() {
	k := kinds["households"]
	k.sql.afterInsert = append(k.sql.afterInsert, personalInsert)
}
