import { describe, expect, it } from 'vitest';
import {
  iceTransportPolicyFor,
  parsePathOverride,
  withPathOverride,
} from '../../client/src/lib/path-override';

describe('path override', () => {
  it.each([
    ['', 'auto'],
    ['?path=auto', 'auto'],
    ['?path=turn', 'turn'],
    ['path=relay', 'relay'],
    ['?x=1&path=RELAY', 'relay'],
    ['?path=direct', 'auto'],
    ['?path=', 'auto'],
    ['?path=turn&path=relay', 'turn'],
  ] as const)('parses %j as %s', (search, expected) => {
    expect(parsePathOverride(search)).toBe(expected);
  });

  it('treats null/undefined as auto', () => {
    expect(parsePathOverride(null)).toBe('auto');
    expect(parsePathOverride(undefined)).toBe('auto');
  });

  it('only turn restricts ICE to relay candidates', () => {
    expect(iceTransportPolicyFor('turn')).toBe('relay');
    expect(iceTransportPolicyFor('auto')).toBe('all');
    expect(iceTransportPolicyFor('relay')).toBe('all');
  });

  it('rewrites the query string, keeping other parameters', () => {
    expect(withPathOverride('', 'turn')).toBe('?path=turn');
    expect(withPathOverride('?a=1&path=relay', 'turn')).toBe('?a=1&path=turn');
    expect(withPathOverride('?a=1&path=turn', 'auto')).toBe('?a=1');
    expect(withPathOverride('?path=turn', 'auto')).toBe('');
  });
});
