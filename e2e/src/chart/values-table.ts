// The chart README's values table and the values schema are generated from
// operator/chart/values-schema.ts by `npm run generate`; the chart tests read
// them through here.
export {
  END,
  START,
  expectedReadme,
  loadSchema,
  loadValues,
  valueRows,
  valuesMissingFromSchema,
  valuesTable,
  withTable,
  type ValueRow,
} from "../../../operator/chart/values-table.ts";
