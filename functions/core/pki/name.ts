import { children, contentOf, type DerElement, decodeOid, encodingOf, TAG } from './der';

// Distinguished names and general names read from DER, spelled exactly as @peculiar/x509 2.x spells them (its
// `Name.toString()`, `getField()` and `GeneralName`), so state documents, chain building and messages read the same
// as when that library parsed every certificate; test/unit/pki/certificate.test.ts compares the two on every root
// Node.js trusts.

/** The short names @peculiar/x509 gives attribute types; any other type is written as its dotted OID. */
const SHORT_NAMES: Readonly<Record<string, string>> = {
  '2.5.4.3': 'CN',
  '2.5.4.7': 'L',
  '2.5.4.8': 'ST',
  '2.5.4.10': 'O',
  '2.5.4.11': 'OU',
  '2.5.4.6': 'C',
  '0.9.2342.19200300.100.1.25': 'DC',
  '1.2.840.113549.1.9.1': 'E',
  '2.5.4.42': 'G',
  '2.5.4.43': 'I',
  '2.5.4.4': 'SN',
  '2.5.4.12': 'T',
};

const STRING_TAG = {
  utf8: 0x0c,
  printable: 0x13,
  teletex: 0x14,
  ia5: 0x16,
  universal: 0x1c,
  bmp: 0x1e,
} as const;

const SET = 0x31;

/** Bytes as one character each (what asn1js does for PrintableString, TeletexString and IA5String). */
function latin1(bytes: Uint8Array): string {
  let text = '';
  for (const byte of bytes) text += String.fromCharCode(byte);
  return text;
}

function hex(bytes: Uint8Array): string {
  let text = '';
  for (const byte of bytes) text += byte.toString(16).padStart(2, '0');
  return text;
}

/** An attribute value: its text for the string types X.520 names use, else `undefined` (written as hex). */
function attributeText(bytes: Uint8Array, value: DerElement): string | undefined {
  const content = contentOf(bytes, value);
  switch (value.tag) {
    case STRING_TAG.utf8:
      return new TextDecoder().decode(content);
    case STRING_TAG.printable:
    case STRING_TAG.teletex:
    case STRING_TAG.ia5:
      return latin1(content);
    case STRING_TAG.bmp: {
      let text = '';
      for (let i = 0; i + 1 < content.length; i += 2)
        text += String.fromCharCode((content[i] << 8) | content[i + 1]);
      return text;
    }
    case STRING_TAG.universal: {
      let text = '';
      for (let i = 0; i + 3 < content.length; i += 4) {
        text += String.fromCharCode(
          ((content[i] << 24) | (content[i + 1] << 16) | (content[i + 2] << 8) | content[i + 3]) >>> 0,
        );
      }
      return text;
    }
    default:
      return undefined;
  }
}

/** RFC 4514-style escaping, as @peculiar/x509 applies it (only the first control character is hex-escaped). */
function escapeValue(text: string): string {
  return text
    .replace(/([,+"\\<>;])/g, '\\$1')
    .replace(/^([ #])/, '\\$1')
    .replace(/([ ]$)/, '\\$1')
    .replace(/([\r\n\t])/, (char) => `\\${hex(new TextEncoder().encode(char)).toUpperCase()}`);
}

/** One attribute of a distinguished name. */
export interface NameAttribute {
  readonly oid: string;
  /** The value as text, or the DER of a value of another type in lowercase hex. */
  readonly value: string;
  /** The value as written in the name's string: escaped text, or `#` and the hex. */
  readonly written: string;
}

/** The attributes of a DER `Name` (SEQUENCE OF RDN), one array per relative distinguished name, in order. */
export function readName(bytes: Uint8Array, name: DerElement): NameAttribute[][] {
  if (name.tag !== TAG.sequence) throw new Error('a Name is not a SEQUENCE');
  return children(bytes, name).map((rdn) => {
    if (rdn.tag !== SET) throw new Error('a RelativeDistinguishedName is not a SET');
    return children(bytes, rdn).map((attribute) => {
      const [type, value] = children(bytes, attribute);
      if (attribute.tag !== TAG.sequence || type?.tag !== TAG.oid || value === undefined) {
        throw new Error('malformed AttributeTypeAndValue');
      }
      const oid = decodeOid(contentOf(bytes, type));
      const text = attributeText(bytes, value);
      const raw = hex(encodingOf(bytes, value));
      return text === undefined
        ? { oid, value: raw, written: `#${raw}` }
        : { oid, value: text, written: escapeValue(text) };
    });
  });
}

/** A name as one string: `CN=…, O=…` in the certificate's order, multi-valued RDNs joined with `+`. */
export function nameToString(name: readonly (readonly NameAttribute[])[]): string {
  return name
    .map((rdn) => rdn.map((a) => `${SHORT_NAMES[a.oid] ?? a.oid}=${a.written}`).join('+'))
    .join(', ');
}

/** Every value of one attribute type (`2.5.4.3` for commonName), unescaped, in order. */
export function nameField(name: readonly (readonly NameAttribute[])[], oid: string): string[] {
  return name.flatMap((rdn) => rdn.filter((a) => a.oid === oid).map((a) => a.value));
}

/** An IP address as @peculiar/x509 writes it: dotted IPv4, compressed IPv6 (longest run of 2+ zero groups). */
function ipToString(bytes: Uint8Array): string {
  if (bytes.length === 4) return [...bytes].join('.');
  if (bytes.length !== 16) return hex(bytes);
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i] << 8) | bytes[i + 1]).toString(16));
  let best = { start: -1, length: 0 };
  for (let i = 0; i < groups.length; ) {
    if (groups[i] !== '0') {
      i += 1;
      continue;
    }
    let j = i;
    while (j < groups.length && groups[j] === '0') j += 1;
    if (j - i > best.length) best = { start: i, length: j - i };
    i = j;
  }
  if (best.length < 2) return groups.join(':');
  return `${groups.slice(0, best.start).join(':')}::${groups.slice(best.start + best.length).join(':')}`;
}

/** One SubjectAltName entry: `dns`, `email`, `url`, `ip`, `dn`, `id`, `guid`, `upn`, or another kind. */
export interface GeneralNameEntry {
  readonly type: string;
  readonly value: string;
}

const GUID = '1.3.6.1.4.1.311.25.1';
const UPN = '1.3.6.1.4.1.311.20.2.3';

function otherName(bytes: Uint8Array, element: DerElement): GeneralNameEntry {
  const [typeId, explicit] = children(bytes, element);
  if (typeId?.tag !== TAG.oid) throw new Error('malformed otherName');
  const oid = decodeOid(contentOf(bytes, typeId));
  const inner = explicit?.tag === TAG.context0 ? children(bytes, explicit)[0] : undefined;
  if (oid === GUID && inner?.tag === TAG.octetString && inner.end - inner.contentStart === 16) {
    const octets = hex(contentOf(bytes, inner));
    const reversed = (from: number, to: number) => octets.slice(from, to).match(/../g)!.reverse().join('');
    const groups = [
      reversed(0, 8),
      reversed(8, 12),
      reversed(12, 16),
      octets.slice(16, 20),
      octets.slice(20),
    ];
    return { type: 'guid', value: groups.join('-') };
  }
  if (oid === UPN && inner !== undefined) {
    const text = attributeText(bytes, inner);
    if (text !== undefined) return { type: 'upn', value: text };
  }
  // @peculiar/x509 refuses these outright; here they are listed, so verification names and refuses them.
  return { type: 'otherName', value: oid };
}

/** The entries of a DER `GeneralNames` (the SubjectAltName extension's value), in order. */
export function readGeneralNames(bytes: Uint8Array, names: DerElement): GeneralNameEntry[] {
  if (names.tag !== TAG.sequence) throw new Error('GeneralNames is not a SEQUENCE');
  return children(bytes, names).map((name): GeneralNameEntry => {
    const content = contentOf(bytes, name);
    switch (name.tag) {
      case 0x82:
        return { type: 'dns', value: latin1(content) };
      case 0x81:
        return { type: 'email', value: latin1(content) };
      case 0x86:
        return { type: 'url', value: latin1(content) };
      case 0x87:
        return { type: 'ip', value: ipToString(content) };
      case 0x88:
        return { type: 'id', value: decodeOid(content) };
      case 0xa4: {
        const [inner] = children(bytes, name);
        if (inner === undefined) throw new Error('empty directoryName');
        return { type: 'dn', value: nameToString(readName(bytes, inner)) };
      }
      case TAG.context0:
        return otherName(bytes, name);
      case 0xa3:
        return { type: 'x400Address', value: hex(content) };
      case 0xa5:
        return { type: 'ediPartyName', value: hex(content) };
      default:
        return { type: `[${name.tag & 0x1f}]`, value: hex(content) };
    }
  });
}
