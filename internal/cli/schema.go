package cli

import (
	"strings"

	"github.com/bot-bottle/bot-bottle/schemas"
	"github.com/spf13/cobra"
)

func newSchemaCmd(c *cli) *cobra.Command {
	names := schemas.JSONSchemaNames()
	return &cobra.Command{
		Use:   "schema " + strings.Join(names, "|"),
		Short: "Print an embedded JSON Schema, for editors and programs",
		Example: `  bot-bottle schema manifest > bottle.schema.json
  bot-bottle schema plan`,
		Args:      oneOfArgs("schema", "schema name", names),
		ValidArgs: names,
		RunE: func(cmd *cobra.Command, args []string) error {
			b, err := schemas.JSONSchema(args[0])
			if err != nil {
				return &usageError{msg: err.Error()}
			}
			_, err = c.stdout.Write(b)
			return err
		},
	}
}
