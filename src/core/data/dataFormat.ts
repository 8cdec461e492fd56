/**
 * What kind of interaction file this is, told from its first line (issue 18): plain
 * `user item [timestamp]` lines; a CSV (or whitespace) table whose header names the columns,
 * such as MovieLens `ratings.csv` (`userId,movieId,rating,timestamp`); or a RecBole atomic `.inter`
 * file (tab-separated, typed header `user_id:token	item_id:token	timestamp:float`). A header is
 * never skipped silently: its user and item columns must be recognised, and the format is named
 * in what RecMark prints.
 */
import { RecMarkError } from '../errors';

export type DataFormatKind = 'plain' | 'csv' | 'recbole';

export interface DataFormat {
  kind: DataFormatKind;
  /** Splits one data line into fields. */
  split: (line: string) => string[];
  /** Column positions of the user, the item and (when present) the timestamp. */
  user: number;
  item: number;
  time: number | null;
  /** Header names as read (null for plain lines). */
  header: string[] | null;
  /** For people: "MovieLens-style CSV (userId, movieId, timestamp; rating ignored)". */
  description: string;
}

const NUMBER = /^-?\d+(\.\d+)?([eE][-+]?\d+)?$/;
const RECBOLE_FIELD = /^[^:\s]+:(token|token_seq|float|float_seq)$/;

/** Column names people use, compared lower-case without `_`, `-` or spaces. */
const USER_NAMES = ['user', 'userid', 'uid', 'users', 'customerid', 'reviewerid', 'visitorid'];
const ITEM_NAMES = [
  'item',
  'itemid',
  'iid',
  'items',
  'movieid',
  'productid',
  'asin',
  'trackid',
  'songid',
  'artistid',
  'bookid',
  'isbn',
  'newsid',
  'poiid',
];
const TIME_NAMES = [
  'timestamp',
  'time',
  'ts',
  'unixtime',
  'unixreviewtime',
  'datetime',
  'date',
  'order',
];

const normalise = (name: string): string => name.toLowerCase().replace(/[\s_-]/g, '');

/** Splits `a,"b, c",d` into fields, honouring double quotes (RFC 4180, one line). */
export function splitCsvLine(line: string, separator = ','): string[] {
  if (!line.includes('"')) return line.split(separator).map((f) => f.trim());
  const fields: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quoted && c === '"' && line[i + 1] === '"') {
      field += '"';
      i++;
    } else if (c === '"') {
      quoted = !quoted;
    } else if (!quoted && c === separator) {
      fields.push(field.trim());
      field = '';
    } else {
      field += c;
    }
  }
  fields.push(field.trim());
  return fields;
}

const splitPlain = (line: string): string[] => line.split(/[\s,;]+/);

/** Whether the first fields of a line are numbers (a data line, not a header). */
export function looksNumeric(fields: readonly string[]): boolean {
  return fields.slice(0, 3).every((f) => NUMBER.test(f));
}

/**
 * The format of a file from its first non-empty, non-comment line. `file` only names the file
 * in errors; the line's text is never quoted (a mistyped path may point at any file).
 */
export function detectFormat(firstLine: string, file: string): DataFormat {
  const plainFields = splitPlain(firstLine);
  if (looksNumeric(plainFields)) {
    return {
      kind: 'plain',
      split: splitPlain,
      user: 0,
      item: 1,
      time: plainFields.length >= 3 ? 2 : null,
      header: null,
      description: `"user item${plainFields.length >= 3 ? ' timestamp' : ''}" lines`,
    };
  }
  const tabbed = firstLine.includes('\t');
  const separator = tabbed
    ? '\t'
    : firstLine.includes(',')
      ? ','
      : firstLine.includes(';')
        ? ';'
        : null;
  const split =
    separator === null
      ? (line: string) => line.trim().split(/\s+/)
      : (line: string) => splitCsvLine(line, separator);
  const raw = split(firstLine);
  const recbole = raw.length >= 2 && raw.every((f) => RECBOLE_FIELD.test(f));
  const names = recbole ? raw.map((f) => f.slice(0, f.lastIndexOf(':'))) : raw;
  const find = (candidates: readonly string[]): number =>
    names.findIndex((n) => candidates.includes(normalise(n)));
  const user = find(USER_NAMES);
  const item = find(ITEM_NAMES);
  const time = find(TIME_NAMES);
  const printable = names.every((n) => /^[\p{L}\p{N}_\- .:()]{1,64}$/u.test(n));
  if (user < 0 || item < 0 || !printable) {
    throw new RecMarkError(
      `${file} line 1: expected "user item [timestamp]" with numbers, or a header naming the user ` +
        `and item columns (such as MovieLens "userId,movieId,rating,timestamp" or RecBole ` +
        `"user_id:token<TAB>item_id:token"); ` +
        (printable && names.length <= 32
          ? `found columns ${names.map((n) => `"${n}"`).join(', ')} — rename the user and item columns.`
          : 'the first line is neither.'),
      'data-invalid',
    );
  }
  const ignored = names.filter((_, i) => i !== user && i !== item && i !== time);
  const columns = [names[user], names[item], ...(time >= 0 ? [names[time]] : [])].join(', ');
  const what = recbole
    ? 'RecBole atomic file'
    : normalise(names[item]) === 'movieid'
      ? 'MovieLens-style CSV'
      : separator === ','
        ? 'CSV with a header'
        : 'table with a header';
  return {
    kind: recbole ? 'recbole' : 'csv',
    split,
    user,
    item,
    time: time >= 0 ? time : null,
    header: names,
    description: `${what} (${columns}${ignored.length > 0 ? `; ${ignored.join(', ')} ignored` : ''})`,
  };
}
