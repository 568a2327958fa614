// The Reflect shim must be evaluated before @peculiar/x509 loads tsyringe, which checks for it at import time.
import './reflect-metadata';
import * as x509 from '@peculiar/x509';

// WebCrypto is global in Node 20 and Lambda; setting it explicitly keeps the library off any other provider.
x509.cryptoProvider.set(globalThis.crypto);

/**
 * `@peculiar/x509`, loaded with the Reflect shim it needs and wired to the platform WebCrypto: the tests' independent
 * reader and writer of certificates and requests (the functions write their CSRs with core/pki/der-encode.ts and read
 * certificates with core/pki/der.ts). Import the library through this module, never directly, so the shim is always
 * in place first.
 */
export { x509 };
