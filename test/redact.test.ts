// Secrets never reach output: redact() is the last filter on everything printed. No database here.
import { describe, expect, it } from 'vitest';
import { describeUrl, redact, registerSecret } from '../src/core/redact.js';

describe('redact: passwords in connection strings', () => {
  it('hides the password of a URL and keeps the rest readable', () => {
    expect(redact('cannot connect to postgres://alice:hunter2pw@db.example.com:5432/app')).toBe(
      'cannot connect to postgres://alice:***@db.example.com:5432/app',
    );
    expect(redact('postgresql://bob:Pa55-word@10.0.0.1/x?sslmode=require')).toBe(
      'postgresql://bob:***@10.0.0.1/x?sslmode=require',
    );
  });

  it('hides every URL password in a text, not only the first', () => {
    const out = redact('primary postgres://a:FirstPw1@h1/db, replica postgres://b:SecondPw2@h2/db');
    expect(out).not.toContain('FirstPw1');
    expect(out).not.toContain('SecondPw2');
    expect(out).toContain('postgres://a:***@h1/db');
    expect(out).toContain('postgres://b:***@h2/db');
  });

  it('leaves URLs without a password alone', () => {
    const text = 'postgres://alice@db.example.com:5432/app and https://example.com/a:b';
    expect(redact(text)).toBe(text);
  });
});

describe('redact: password=... forms', () => {
  it('hides the value of password, passwd and pwd, whatever the case and separator', () => {
    expect(redact('host=h password=s3cr3tval user=u')).toBe('host=h password=*** user=u');
    expect(redact('PASSWORD = "two words"')).toBe('PASSWORD = ***');
    expect(redact("pwd='quoted value' next")).toBe('pwd=*** next');
    expect(redact('passwd: zzTopSecret')).toBe('passwd: ***');
    expect(redact('a=1&password=abcdef&b=2')).toBe('a=1&password=***&b=2');
  });

  it('does not touch words that only contain the keyword', () => {
    expect(redact('the password was refused')).toBe('the password was refused');
  });
});

describe('redact: registered secrets', () => {
  it('hides a registered secret wherever it appears', () => {
    registerSecret('Zebra-Horse-7731');
    const out = redact('error: role "x" with token Zebra-Horse-7731 rejected (Zebra-Horse-7731)');
    expect(out).not.toContain('Zebra-Horse-7731');
    expect(out).toBe('error: role "x" with token *** rejected (***)');
  });

  it('hides the URL-encoded form of a registered secret too', () => {
    registerSecret('p@ss w/rd:9');
    const encoded = encodeURIComponent('p@ss w/rd:9');
    expect(encoded).toBe('p%40ss%20w%2Frd%3A9');
    expect(redact(`connection string user info ${encoded} end`)).not.toContain(encoded);
    expect(redact('raw p@ss w/rd:9 here')).toBe('raw *** here');
  });

  it('hides a registered password written raw (with an @) inside a URL, entirely', () => {
    // A URL such as postgres://someone:Very@Secret123@host/db is accepted by the URL parser (the last @
    // ends the user info). The password must not leak, neither whole nor in part.
    registerSecret('Very@Secret123');
    const out = redact('cannot connect to postgres://someone:Very@Secret123@db.example.com:5432/x');
    expect(out).not.toContain('Very');
    expect(out).not.toContain('Secret123');
    expect(out).toContain('db.example.com:5432/x');
  });

  it('ignores secrets too short to be told apart from ordinary text', () => {
    registerSecret('ab');
    registerSecret('');
    registerSecret(undefined);
    registerSecret(null);
    expect(redact('abc tab cab')).toBe('abc tab cab');
  });
});

describe('describeUrl', () => {
  it('replaces the password and drops the query string (which may hold sslpassword or file paths)', () => {
    const shown = describeUrl('postgres://alice:hunter2pw@db.example.com:6543/app?sslpassword=KeyPw99&sslkey=/home/a/k.pem');
    expect(shown).toBe('postgres://alice:***@db.example.com:6543/app');
    expect(shown).not.toContain('hunter2pw');
    expect(shown).not.toContain('KeyPw99');
  });

  it('keeps host, port, user and database of a URL without a password', () => {
    expect(describeUrl('postgres://alice@db.example.com:6543/app')).toBe('postgres://alice@db.example.com:6543/app');
  });

  it('falls back to redact() for what is not a URL', () => {
    const shown = describeUrl('host=db password=NotAUrlPw1');
    expect(shown).not.toContain('NotAUrlPw1');
    expect(shown).toContain('host=db');
  });
});
