import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, type Server, type Socket } from 'node:net';
import {
  ListHostedZonesCommand,
  ListResourceRecordSetsCommand,
  type ListResourceRecordSetsCommandOutput,
  type ResourceRecordSet,
  Route53Client,
} from '@aws-sdk/client-route-53';
import { awsTestConfig } from './moto';

/**
 * A tiny authoritative DNS server that answers from the record sets in moto's Route 53, so Pebble validates
 * exactly what the code wrote through the Route 53 API. DNS messages are encoded by hand (RFC 1035 §4) to
 * avoid a dependency; only what a dns-01 validator asks for is supported: TXT and CNAME, class IN.
 * @see RFC 1035 §4.1 "Format"
 */

/** Resource record types this responder knows by name. */
export const DnsType = {
  A: 1,
  NS: 2,
  CNAME: 5,
  SOA: 6,
  TXT: 16,
  AAAA: 28,
  OPT: 41,
  ANY: 255,
  CAA: 257,
} as const;

/** Response codes (RFC 1035 §4.1.1 RCODE). */
export const DnsRcode = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;

/** One entry of the question section. */
export interface DnsQuestion {
  readonly name: string;
  readonly type: number;
  readonly class: number;
}

/** One resource record; `data` is decoded for TXT (strings) and CNAME (a name), raw bytes otherwise. */
export interface DnsRecord {
  readonly name: string;
  readonly type: number;
  readonly class: number;
  readonly ttl: number;
  readonly data: readonly string[] | string | Uint8Array;
}

/** A whole DNS message with its header fields broken out. */
export interface DnsMessage {
  readonly id: number;
  readonly response: boolean;
  readonly opcode: number;
  readonly authoritative: boolean;
  readonly truncated: boolean;
  readonly recursionDesired: boolean;
  readonly recursionAvailable: boolean;
  readonly rcode: number;
  readonly questions: readonly DnsQuestion[];
  readonly answers: readonly DnsRecord[];
  readonly authorities: readonly DnsRecord[];
  readonly additionals: readonly DnsRecord[];
}

/** Encodes a name as length-prefixed labels (RFC 1035 §3.1); no compression, which §4.1.4 makes optional. */
function encodeName(name: string): Buffer {
  const labels = name
    .replace(/\.$/, '')
    .split('.')
    .filter((l) => l.length > 0);
  const parts: Buffer[] = [];
  for (const label of labels) {
    const bytes = Buffer.from(label, 'ascii');
    if (bytes.length > 63) throw new Error(`DNS label longer than 63 octets: ${label}`);
    parts.push(Buffer.from([bytes.length]), bytes);
  }
  parts.push(Buffer.from([0]));
  return Buffer.concat(parts);
}

function encodeRdata(record: DnsRecord): Buffer {
  if (record.type === DnsType.TXT && Array.isArray(record.data)) {
    // RFC 1035 §3.3.14: TXT-DATA is one or more <character-string>s, each at most 255 octets.
    return Buffer.concat(
      (record.data as readonly string[]).map((text) => {
        const bytes = Buffer.from(text, 'utf8');
        if (bytes.length > 255) throw new Error('TXT character-string longer than 255 octets');
        return Buffer.concat([Buffer.from([bytes.length]), bytes]);
      }),
    );
  }
  if (record.type === DnsType.CNAME && typeof record.data === 'string') return encodeName(record.data);
  if (record.type === DnsType.NS && typeof record.data === 'string') return encodeName(record.data);
  if (record.data instanceof Uint8Array) return Buffer.from(record.data);
  throw new Error(`Cannot encode data of record type ${record.type}`);
}

function encodeRecord(record: DnsRecord): Buffer {
  const rdata = encodeRdata(record);
  const fixed = Buffer.alloc(10);
  fixed.writeUInt16BE(record.type, 0);
  fixed.writeUInt16BE(record.class, 2);
  fixed.writeUInt32BE(record.ttl >>> 0, 4);
  fixed.writeUInt16BE(rdata.length, 8);
  return Buffer.concat([encodeName(record.name), fixed, rdata]);
}

/** Serialises a message to wire format (RFC 1035 §4.1). */
export function encodeDnsMessage(message: DnsMessage): Buffer {
  const header = Buffer.alloc(12);
  header.writeUInt16BE(message.id, 0);
  const flags =
    (message.response ? 0x8000 : 0) |
    ((message.opcode & 0xf) << 11) |
    (message.authoritative ? 0x0400 : 0) |
    (message.truncated ? 0x0200 : 0) |
    (message.recursionDesired ? 0x0100 : 0) |
    (message.recursionAvailable ? 0x0080 : 0) |
    (message.rcode & 0xf);
  header.writeUInt16BE(flags, 2);
  header.writeUInt16BE(message.questions.length, 4);
  header.writeUInt16BE(message.answers.length, 6);
  header.writeUInt16BE(message.authorities.length, 8);
  header.writeUInt16BE(message.additionals.length, 10);
  const questions = message.questions.map((q) => {
    const tail = Buffer.alloc(4);
    tail.writeUInt16BE(q.type, 0);
    tail.writeUInt16BE(q.class, 2);
    return Buffer.concat([encodeName(q.name), tail]);
  });
  return Buffer.concat([
    header,
    ...questions,
    ...message.answers.map(encodeRecord),
    ...message.authorities.map(encodeRecord),
    ...message.additionals.map(encodeRecord),
  ]);
}

/** Reads a possibly compressed name (RFC 1035 §4.1.4) and returns it with the offset just after it. */
function decodeName(buf: Buffer, start: number): { name: string; next: number } {
  const labels: string[] = [];
  let offset = start;
  let next = -1;
  for (let jumps = 0; ; ) {
    if (offset >= buf.length) throw new Error('DNS name runs past the end of the message');
    const length = buf[offset]!;
    if ((length & 0xc0) === 0xc0) {
      if (offset + 1 >= buf.length) throw new Error('DNS compression pointer is truncated');
      if (next < 0) next = offset + 2;
      // Pointers may only go backwards; counting jumps also stops a malicious loop.
      if (++jumps > 64) throw new Error('DNS compression pointer loop');
      offset = ((length & 0x3f) << 8) | buf[offset + 1]!;
      continue;
    }
    if ((length & 0xc0) !== 0) throw new Error('DNS label type not supported');
    if (length === 0) {
      if (next < 0) next = offset + 1;
      break;
    }
    if (offset + 1 + length > buf.length) throw new Error('DNS label runs past the end of the message');
    labels.push(buf.toString('ascii', offset + 1, offset + 1 + length));
    offset += 1 + length;
  }
  return { name: labels.join('.'), next };
}

function need(buf: Buffer, offset: number, length: number): void {
  if (offset + length > buf.length) throw new Error('DNS message is truncated');
}

function decodeRecord(buf: Buffer, start: number): { record: DnsRecord; next: number } {
  const { name, next: afterName } = decodeName(buf, start);
  need(buf, afterName, 10);
  const type = buf.readUInt16BE(afterName);
  const klass = buf.readUInt16BE(afterName + 2);
  const ttl = buf.readUInt32BE(afterName + 4);
  const length = buf.readUInt16BE(afterName + 8);
  const begin = afterName + 10;
  need(buf, begin, length);
  const end = begin + length;
  let data: DnsRecord['data'];
  if (type === DnsType.TXT) {
    const strings: string[] = [];
    for (let offset = begin; offset < end; ) {
      const size = buf[offset]!;
      if (offset + 1 + size > end) throw new Error('TXT character-string runs past its record');
      strings.push(buf.toString('utf8', offset + 1, offset + 1 + size));
      offset += 1 + size;
    }
    data = strings;
  } else if (type === DnsType.CNAME) {
    data = decodeName(buf, begin).name;
  } else {
    data = new Uint8Array(buf.subarray(begin, end));
  }
  return { record: { name, type, class: klass, ttl, data }, next: end };
}

/** Parses a wire-format message; throws on anything malformed (the server answers FORMERR). */
export function decodeDnsMessage(buf: Buffer): DnsMessage {
  need(buf, 0, 12);
  const flags = buf.readUInt16BE(2);
  const counts = [
    buf.readUInt16BE(4),
    buf.readUInt16BE(6),
    buf.readUInt16BE(8),
    buf.readUInt16BE(10),
  ] as const;
  let offset = 12;
  const questions: DnsQuestion[] = [];
  for (let i = 0; i < counts[0]; i++) {
    const { name, next } = decodeName(buf, offset);
    need(buf, next, 4);
    questions.push({ name, type: buf.readUInt16BE(next), class: buf.readUInt16BE(next + 2) });
    offset = next + 4;
  }
  const sections: DnsRecord[][] = [[], [], []];
  for (let s = 0; s < 3; s++) {
    for (let i = 0; i < counts[s + 1]!; i++) {
      const { record, next } = decodeRecord(buf, offset);
      sections[s]!.push(record);
      offset = next;
    }
  }
  return {
    id: buf.readUInt16BE(0),
    response: (flags & 0x8000) !== 0,
    opcode: (flags >> 11) & 0xf,
    authoritative: (flags & 0x0400) !== 0,
    truncated: (flags & 0x0200) !== 0,
    recursionDesired: (flags & 0x0100) !== 0,
    recursionAvailable: (flags & 0x0080) !== 0,
    rcode: flags & 0xf,
    questions,
    answers: sections[0]!,
    authorities: sections[1]!,
    additionals: sections[2]!,
  };
}

/**
 * Splits a Route 53 TXT value (`"a" "b"`, with `\"`, `\\` and `\ddd` escapes) into its character-strings.
 * An unquoted value is one string.
 */
export function parseRoute53Txt(value: string): string[] {
  const text = value.trim();
  if (!text.startsWith('"')) return [text];
  const strings: string[] = [];
  let current: string | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (current === undefined) {
      if (c === '"') current = '';
      continue;
    }
    if (c === '\\') {
      const octal = /^\d{3}/.exec(text.slice(i + 1));
      if (octal) {
        current += String.fromCharCode(Number.parseInt(octal[0], 8));
        i += 3;
      } else {
        current += text[i + 1] ?? '';
        i += 1;
      }
    } else if (c === '"') {
      strings.push(current);
      current = undefined;
    } else {
      current += c;
    }
  }
  if (current !== undefined) strings.push(current);
  return strings;
}

/**
 * Encodes a Route 53 CAA value (`0 issue "letsencrypt.org; validationmethods=dns-01"`) as CAA RDATA: flags,
 * tag length, tag, value.
 * @see RFC 8659 §4.1 "Syntax"
 */
export function encodeCaaRdata(value: string): Uint8Array {
  const match = /^\s*(\d{1,3})\s+([A-Za-z0-9]+)\s+(?:"((?:[^"\\]|\\.)*)"|(\S+))\s*$/.exec(value);
  if (!match) throw new Error(`Not a CAA value: ${value}`);
  const tag = Buffer.from(match[2]!, 'ascii');
  const text = Buffer.from((match[3] ?? match[4] ?? '').replace(/\\(.)/g, '$1'), 'utf8');
  return new Uint8Array(Buffer.concat([Buffer.from([Number(match[1]) & 0xff, tag.length]), tag, text]));
}

const typeNames = new Map<number, string>(Object.entries(DnsType).map(([k, v]) => [v, k]));

function normalize(name: string): string {
  return name
    .replace(/\\(\d{3})/g, (_, o: string) => String.fromCharCode(Number.parseInt(o, 8)))
    .replace(/\.$/, '')
    .toLowerCase();
}

/** Looks names up in moto's Route 53 on every query, so answers always show the current record sets. */
class Route53Lookup {
  constructor(private readonly client: Route53Client) {}

  async zoneFor(name: string): Promise<{ id: string; name: string } | undefined> {
    let best: { id: string; name: string; private: boolean } | undefined;
    let marker: string | undefined;
    do {
      const page = await this.client.send(new ListHostedZonesCommand({ Marker: marker }));
      for (const zone of page.HostedZones ?? []) {
        const zoneName = normalize(zone.Name ?? '');
        if (!(name === zoneName || name.endsWith(`.${zoneName}`))) continue;
        const isPrivate = zone.Config?.PrivateZone === true;
        const better =
          best === undefined ||
          (best.private && !isPrivate) ||
          (best.private === isPrivate && zoneName.length > best.name.length);
        if (better)
          best = { id: (zone.Id ?? '').replace(/^\/hostedzone\//, ''), name: zoneName, private: isPrivate };
      }
      marker = page.IsTruncated ? page.NextMarker : undefined;
    } while (marker !== undefined);
    return best;
  }

  async recordSetsAt(name: string): Promise<ResourceRecordSet[] | undefined> {
    const zone = await this.zoneFor(name);
    if (zone === undefined) return undefined;
    return this.recordSetsIn(zone.id, name);
  }

  /**
   * The NS record set a parent zone holds for `name` (a zone cut, RFC 1034 §4.2.2), from the closest parent
   * zone that has one: what the parent's servers refer resolvers to, which may differ from the child zone's own.
   */
  async delegationAt(name: string): Promise<ResourceRecordSet | undefined> {
    const parents: { id: string; name: string }[] = [];
    let marker: string | undefined;
    do {
      const page = await this.client.send(new ListHostedZonesCommand({ Marker: marker }));
      for (const zone of page.HostedZones ?? []) {
        const zoneName = normalize(zone.Name ?? '');
        if (zone.Config?.PrivateZone !== true && name.endsWith(`.${zoneName}`))
          parents.push({ id: (zone.Id ?? '').replace(/^\/hostedzone\//, ''), name: zoneName });
      }
      marker = page.IsTruncated ? page.NextMarker : undefined;
    } while (marker !== undefined);
    parents.sort((a, b) => b.name.length - a.name.length);
    for (const parent of parents) {
      const ns = (await this.recordSetsIn(parent.id, name)).find((s) => s.Type === 'NS');
      if (ns !== undefined) return ns;
    }
    return undefined;
  }

  async recordSetsIn(zoneId: string, name: string): Promise<ResourceRecordSet[]> {
    const zone = { id: zoneId };
    const found: ResourceRecordSet[] = [];
    let startName: string | undefined = name;
    let startType: string | undefined;
    while (startName !== undefined) {
      const page: ListResourceRecordSetsCommandOutput = await this.client.send(
        new ListResourceRecordSetsCommand({
          HostedZoneId: zone.id,
          StartRecordName: startName,
          StartRecordType: startType as ResourceRecordSet['Type'],
          MaxItems: 100,
        }),
      );
      const sets = page.ResourceRecordSets ?? [];
      const here = sets.filter((s) => normalize(s.Name ?? '') === name);
      found.push(...here);
      // Sets are sorted by name, so once a page holds another name there is nothing more at ours.
      if (here.length < sets.length || !page.IsTruncated) break;
      startName = page.NextRecordName;
      startType = page.NextRecordType;
    }
    return found;
  }
}

/** A running responder: its `host:port`, every question it was asked (`TXT name`), and a way to stop it. */
export interface Route53DnsResponder {
  readonly address: string;
  readonly queries: string[];
  stop(): Promise<void>;
}

/** Builds the answer to one query from moto's Route 53. */
async function answer(lookup: Route53Lookup, query: DnsMessage): Promise<DnsMessage> {
  const base = {
    id: query.id,
    response: true,
    opcode: query.opcode,
    authoritative: true,
    truncated: false,
    recursionDesired: query.recursionDesired,
    recursionAvailable: false,
    questions: query.questions,
    authorities: [],
    additionals: [],
  };
  const question = query.questions[0];
  if (query.opcode !== 0) return { ...base, rcode: DnsRcode.NOTIMP, answers: [] };
  if (question === undefined || query.questions.length !== 1)
    return { ...base, rcode: DnsRcode.FORMERR, answers: [] };
  if (question.class !== 1) return { ...base, rcode: DnsRcode.REFUSED, answers: [] };

  const answers: DnsRecord[] = [];
  let owner = question.name;
  let name = normalize(question.name);
  for (let hop = 0; hop < 8; hop++) {
    const sets = await lookup.recordSetsAt(name);
    if (sets === undefined || sets.length === 0) {
      // The first name not existing is NXDOMAIN; a dangling CNAME target just ends the chain.
      return { ...base, rcode: hop === 0 ? DnsRcode.NXDOMAIN : DnsRcode.NOERROR, answers };
    }
    const cname = sets.find((s) => s.Type === 'CNAME');
    if (cname !== undefined && question.type !== DnsType.CNAME) {
      const target = normalize(cname.ResourceRecords?.[0]?.Value ?? '');
      answers.push({ name: owner, type: DnsType.CNAME, class: 1, ttl: cname.TTL ?? 60, data: target });
      owner = target;
      name = target;
      continue;
    }
    const wanted = typeNames.get(question.type);
    if (wanted === 'NS') {
      // A parent zone's delegation wins over the child's own apex NS: the doctor checks what the parent says.
      const delegation = await lookup.delegationAt(name);
      if (delegation !== undefined) sets.splice(0, sets.length, delegation);
    }
    for (const set of sets) {
      if (
        set.Type !== wanted ||
        !(wanted === 'TXT' || wanted === 'CNAME' || wanted === 'NS' || wanted === 'CAA')
      )
        continue;
      for (const record of set.ResourceRecords ?? []) {
        const value = record.Value ?? '';
        answers.push({
          name: owner,
          type: question.type,
          class: 1,
          ttl: set.TTL ?? 60,
          data:
            wanted === 'TXT'
              ? parseRoute53Txt(value)
              : wanted === 'CAA'
                ? encodeCaaRdata(value)
                : normalize(value),
        });
      }
    }
    return { ...base, rcode: DnsRcode.NOERROR, answers };
  }
  return { ...base, rcode: DnsRcode.SERVFAIL, answers };
}

async function respond(lookup: Route53Lookup, queries: string[], packet: Buffer, maxSize: number) {
  let query: DnsMessage;
  try {
    query = decodeDnsMessage(packet);
  } catch {
    if (packet.length < 2) return undefined;
    return encodeDnsMessage({
      id: packet.readUInt16BE(0),
      response: true,
      opcode: 0,
      authoritative: false,
      truncated: false,
      recursionDesired: false,
      recursionAvailable: false,
      rcode: DnsRcode.FORMERR,
      questions: [],
      answers: [],
      authorities: [],
      additionals: [],
    });
  }
  for (const q of query.questions) queries.push(`${typeNames.get(q.type) ?? q.type} ${normalize(q.name)}`);
  let reply: DnsMessage;
  try {
    reply = await answer(lookup, query);
  } catch {
    reply = {
      ...query,
      response: true,
      authoritative: false,
      rcode: DnsRcode.SERVFAIL,
      answers: [],
      authorities: [],
      additionals: [],
    };
  }
  const wire = encodeDnsMessage(reply);
  if (wire.length <= maxSize) return wire;
  // RFC 1035 §4.2.1: over UDP, a message that does not fit is sent truncated with TC set; the client retries on TCP.
  return encodeDnsMessage({ ...reply, truncated: true, answers: [] });
}

/** The UDP payload limit a query advertises through EDNS(0) (RFC 6891 §6.2.3), or 512 without it. */
function udpLimit(packet: Buffer): number {
  try {
    const opt = decodeDnsMessage(packet).additionals.find((r) => r.type === DnsType.OPT);
    return opt === undefined ? 512 : Math.max(512, opt.class);
  } catch {
    return 512;
  }
}

function listenUdp(port: number): Promise<UdpSocket> {
  return new Promise((resolve, reject) => {
    const socket = createSocket('udp4');
    socket.once('error', reject);
    socket.bind(port, '127.0.0.1', () => {
      socket.off('error', reject);
      resolve(socket);
    });
  });
}

function listenTcp(port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}

function serveTcpConnection(socket: Socket, handle: (packet: Buffer) => Promise<Buffer | undefined>): void {
  let buffered = Buffer.alloc(0);
  socket.on('error', () => socket.destroy());
  socket.on('data', (chunk: Buffer) => {
    buffered = Buffer.concat([buffered, chunk]);
    // RFC 1035 §4.2.2: over TCP every message is prefixed with its two-octet length.
    while (buffered.length >= 2 && buffered.length >= 2 + buffered.readUInt16BE(0)) {
      const packet = buffered.subarray(2, 2 + buffered.readUInt16BE(0));
      buffered = buffered.subarray(2 + packet.length);
      void handle(Buffer.from(packet)).then((reply) => {
        if (reply === undefined || socket.destroyed) return;
        const length = Buffer.alloc(2);
        length.writeUInt16BE(reply.length, 0);
        socket.write(Buffer.concat([length, reply]));
      });
    }
  });
}

/**
 * Starts the responder on a free 127.0.0.1 port (UDP and TCP on the same number), answering from the Route 53
 * API at `endpoint` (moto).
 */
export async function startRoute53DnsResponder(options: { endpoint: string }): Promise<Route53DnsResponder> {
  const lookup = new Route53Lookup(new Route53Client(awsTestConfig(options.endpoint)));
  const queries: string[] = [];
  let udp: UdpSocket | undefined;
  let tcp: Server | undefined;
  // The kernel picks a free UDP port; the same TCP port is usually free too, and a few tries cover the rest.
  for (let attempt = 0; attempt < 10 && tcp === undefined; attempt++) {
    udp = await listenUdp(0);
    try {
      tcp = await listenTcp(udp.address().port);
    } catch {
      udp.close();
      udp = undefined;
    }
  }
  if (udp === undefined || tcp === undefined) throw new Error('No free port for the DNS responder');
  const udpSocket = udp;
  const connections = new Set<Socket>();
  udpSocket.on('message', (packet, remote) => {
    void respond(lookup, queries, packet, udpLimit(packet)).then((reply) => {
      if (reply !== undefined) udpSocket.send(reply, remote.port, remote.address);
    });
  });
  tcp.on('connection', (socket) => {
    connections.add(socket);
    socket.on('close', () => connections.delete(socket));
    serveTcpConnection(socket, (packet) => respond(lookup, queries, packet, 65_535));
  });
  const tcpServer = tcp;
  return {
    address: `127.0.0.1:${udpSocket.address().port}`,
    queries,
    async stop() {
      for (const socket of connections) socket.destroy();
      await Promise.all([
        new Promise<void>((resolve) => udpSocket.close(() => resolve())),
        new Promise<void>((resolve) => tcpServer.close(() => resolve())),
      ]);
    },
  };
}
