/** Shape of one row of PS3.15 Table E.1-1 as generated into ./generated/table-e1-1.ts. */

/** Basic profile action codes as they appear in the table (see ../../docs/deid.md for their resolution). */
export type BasicAction = "D" | "Z" | "X" | "K" | "C" | "U" | "X/D" | "X/Z" | "X/Z/D" | "Z/D" | "X/Z/U*";

/** Option columns of the table. */
export type OptionColumn =
  | "rtnSafePrivOpt"
  | "rtnUIDsOpt"
  | "rtnDevIdOpt"
  | "rtnInstIdOpt"
  | "rtnPatCharsOpt"
  | "rtnLongFullDatesOpt"
  | "rtnLongModifDatesOpt"
  | "cleanDescOpt"
  | "cleanStructContOpt"
  | "cleanGraphOpt";

export interface ProfileRow {
  /** 8 upper-case hex digits; repeating groups use lower-case x (e.g. "60xx3000"); "odd" = all private tags. */
  tag: string;
  name: string;
  /** Whether the attribute appears in a standard composite IOD (the table's "Std. Comp. IOD" column). */
  inStdIod: boolean;
  basic: BasicAction;
  options: Partial<Record<OptionColumn, "K" | "C">>;
}
