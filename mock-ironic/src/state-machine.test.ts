import { describe, expect, it } from 'vitest';
import { isActionable, nextState, STATE_TARGETS, TRANSITIONS, targetAfter } from './state-machine.ts';
import {
  LOOKUP_ALLOWED_STATES,
  ProvisionState as S,
  STABLE_STATES,
  STUCK_STATES_TREATED_AS_FAIL,
  UNSTABLE_STATES,
  VERBS,
} from './states.ts';

const allStates = Object.values(S) as string[];

describe('provision states (ironic test_states.py)', () => {
  it('fit the 15-character DB column', () => {
    for (const value of allStates) expect(value.length, value).toBeLessThanOrEqual(15);
  });

  it('are unique', () => {
    expect(new Set(allStates).size).toBe(allStates.length);
  });
});

describe('transition table', () => {
  it('uses only known states', () => {
    for (const t of TRANSITIONS) {
      expect(allStates).toContain(t.from);
      expect(allStates).toContain(t.to);
    }
  });

  it('has one edge per (from, event): the machine is deterministic', () => {
    const keys = TRANSITIONS.map((t) => `${t.from}|${t.event}`);
    expect(new Set(keys).size).toBe(keys.length);
  });

  it('gives every transitional state a stable target, and stable states none', () => {
    for (const s of allStates) {
      const target = STATE_TARGETS[s as S];
      if ((STABLE_STATES as readonly string[]).includes(s)) expect(target, s).toBeUndefined();
      else expect(STABLE_STATES, s).toContain(target);
    }
  });

  it('reaches every state from enroll', () => {
    const seen = new Set<string>([S.ENROLL]);
    const queue: string[] = [S.ENROLL];
    while (queue.length > 0) {
      const s = queue.shift()!;
      for (const t of TRANSITIONS) {
        if (t.from === s && !seen.has(t.to)) {
          seen.add(t.to);
          queue.push(t.to);
        }
      }
    }
    expect([...seen].sort()).toEqual([...allStates].sort());
  });

  it('lets every unstable state leave by itself (done, fail or resume)', () => {
    for (const s of UNSTABLE_STATES) {
      const own = TRANSITIONS.filter(
        (t) => t.from === s && ['done', 'fail', 'resume', 'clean', 'manage'].includes(t.event),
      );
      expect(own.length, s).toBeGreaterThan(0);
    }
  });

  it('can fail every state a restarted conductor cannot resume', () => {
    for (const s of STUCK_STATES_TREATED_AS_FAIL) expect(isActionable(s, 'fail'), s).toBe(true);
  });

  it('maps every API verb to an event some state accepts', () => {
    for (const event of Object.values(VERBS)) {
      expect(
        TRANSITIONS.some((t) => t.event === event),
        event,
      ).toBe(true);
    }
  });

  it('walks the deploy path of the reference in order', () => {
    const path: [string, string][] = [
      ['manage', S.VERIFYING],
      ['done', S.MANAGEABLE],
      ['provide', S.CLEANING],
      ['done', S.AVAILABLE],
      ['deploy', S.DEPLOYING],
      ['wait', S.DEPLOYWAIT],
      ['resume', S.DEPLOYING],
      ['done', S.ACTIVE],
      ['delete', S.DELETING],
      ['clean', S.CLEANING],
      ['done', S.AVAILABLE],
    ];
    let state: string = S.ENROLL;
    for (const [event, to] of path) {
      state = nextState(state, event) ?? `refused ${event} in ${state}`;
      expect(state).toBe(to);
    }
  });

  it('refuses what Ironic refuses', () => {
    expect(isActionable(S.ENROLL, 'provide')).toBe(false);
    expect(isActionable(S.AVAILABLE, 'inspect')).toBe(false);
    expect(isActionable(S.ACTIVE, 'deploy')).toBe(false);
    expect(isActionable(S.DEPLOYING, 'delete')).toBe(false);
    expect(isActionable(S.DEPLOYWAIT, 'abort')).toBe(false);
  });

  it('computes target_provision_state like the FSM', () => {
    expect(targetAfter(S.DEPLOYWAIT)).toBe(S.ACTIVE);
    expect(targetAfter(S.CLEANING, S.MANAGEABLE)).toBe(S.MANAGEABLE);
    expect(targetAfter(S.ACTIVE)).toBeNull();
    expect(targetAfter(S.DEPLOYFAIL)).toBe(S.ACTIVE);
  });

  it('lets the agent look up only while the conductor expects it', () => {
    for (const s of LOOKUP_ALLOWED_STATES) expect(STABLE_STATES).not.toContain(s);
  });
});
