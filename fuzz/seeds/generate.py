#!/usr/bin/env python3
"""Writes the seed corpus for the fuzz targets that have no hand-made seeds yet.

Each seed is a meaningful input in the target's byte layout (documented on the target's
function in fuzz/checks/src/). Run from the repository root: python3 fuzz/seeds/generate.py
(the retry_after seeds are older and hand-made; this script leaves them alone).
"""
import os
import struct

ROOT = os.path.dirname(os.path.abspath(__file__))


def u16(v): return struct.pack('<H', v)
def u32(v): return struct.pack('<I', v)
def u64(v): return struct.pack('<Q', v)


def write(target, name, data):
    d = os.path.join(ROOT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), 'wb') as f:
        f.write(data)


NOW = 1_700_000_000  # 2023-11-14T22:13:20Z

# hint_headers: now, permutation byte, enable mask, then lines (op, case, value...).
# op % 8: 0 Retry-After, 1 RateLimit, 2 grpc pushback, 3 x-amz, 4 X-RateLimit-Reset,
# 5 Date, 6/7 near-miss names; (op >> 3) & 3 == 0: raw value (length byte + bytes).
def raw(op, value, case=0):
    return bytes([op, case, len(value)]) + value

hh = u64(NOW) + bytes([0, 0x1f])
write('hint_headers', 'retry_after_seconds', hh + raw(0, b'120'))
write('hint_headers', 'retry_after_date_with_server_date',
      hh + raw(0, b'Wed, 21 Oct 2015 07:28:00 GMT', 0x55) + raw(5, b'Wed, 21 Oct 2015 07:27:00 GMT'))
write('hint_headers', 'ratelimit_two_lines',
      hh + raw(1, b'"default";r=0;t=30') + raw(1, b'"burst";r=0;t=5, "day";r=100;t=86400', 0xff))
write('hint_headers', 'grpc_refuses_over_retry_after',
      hh + raw(0, b'1') + raw(2, b'-1'))
write('hint_headers', 'duplicate_retry_after_conflict',
      hh + raw(0, b'5') + raw(0, b'6') + raw(3, b'250'))
write('hint_headers', 'reset_epoch_and_near_misses',
      hh + raw(4, b'1700000100') + raw(6, b'9', 3) + raw(7, b'9', 5))
write('hint_headers', 'all_sources_reordered',
      u64(NOW) + bytes([77, 0xff]) + raw(0, b'7') + raw(1, b'p;r=0;t=20') + raw(2, b'1500')
      + raw(3, b'800') + raw(4, b'1700000060'))
# Generated values: op with (op >> 3) & 3 != 0, then a style byte and the numbers.
write('hint_headers', 'generated_numbers',
      hh + bytes([0 | 8, 0, 0x17, 4]) + u16(90)            # Retry-After: digits of 90
      + bytes([3 | 8, 0, 0x05, 6]) + u32(1234)             # x-amz: ms
      + bytes([2 | 8, 0, 0x00]) + u32(0xFFFFFFF6)          # grpc: -10
      + bytes([1 | 8, 0, 0, 1, 0x0c]) + u64(45))           # RateLimit: r=0;t=45

# retry_machine: max-1, deadline*250ms, per-try*20ms, seed u16, flags (1 idempotent,
# 2 UseBackoff, bits 2-3 cap: 0 default 300 s, 1 zero, 2 a byte of seconds, 3 none), then
# inputs. op % 11: 0 +10ms*b, 1 -b ms, 2 gate hold(hint byte), 3 success,
# 4 retryable(kind b%3, hint byte, seen), 5 final(refused b%5, hint byte, seen), 6 commit,
# 7 HTTP response(status idx, hint byte), 8 transport(b%5), 9 +b s, 10 poll.
# A hint byte: 0 none, 96 do not retry, 97+k k*100 ms, 192+k k*16 s. Seen: 2 = the caller's error.
def rm(max_, deadline, per_try, flags, events):
    return bytes([max_ - 1, deadline, per_try]) + u16(7) + bytes([flags]) + bytes(events)

POLL, SUCCESS, COMMIT = 10, 3, 6
def after_ms(n): return 97 + n // 100
def after_s16(n): return 192 + n // 16
def status(i, h=0): return [7, i, h]          # STATUSES[i]: 7 = 503, 4 = 429, 0 = 200
def retryable(kind, h=0): return [4, kind, h, 2]
def final(refused, h=0): return [5, refused, h, 2]

write('retry_machine', 'three_503_then_max', rm(3, 0, 0, 1, [
    POLL, *status(7), POLL, 0, 50, POLL, *status(7), POLL, 0, 100, POLL, *status(7), POLL]))
write('retry_machine', 'retry_after_then_success', rm(4, 0, 50, 1, [
    POLL, *status(4, after_ms(3000)), POLL, 9, 3, POLL, *status(0), POLL]))
write('retry_machine', 'deadline_refuses_long_hint', rm(5, 8, 25, 1, [
    POLL, *retryable(1, after_ms(5000)), POLL]))
write('retry_machine', 'timeout_then_late_answer', rm(3, 40, 10, 1, [
    POLL, 0, 30, POLL, *retryable(2), POLL, SUCCESS, 0, 255, POLL, SUCCESS, POLL]))
write('retry_machine', 'not_idempotent_reset', rm(3, 0, 0, 0, [POLL, 8, 2, POLL]))
write('retry_machine', 'do_not_retry', rm(3, 20, 0, 3, [POLL, *retryable(0, 96), POLL]))
write('retry_machine', 'commit_then_failure', rm(3, 20, 0, 1, [
    POLL, COMMIT, *retryable(0), POLL]))
write('retry_machine', 'final_refused_records_its_hint', rm(3, 0, 0, 0, [
    POLL, *status(7, after_ms(3000)), POLL]))
write('retry_machine', 'final_vetoed_with_long_hint', rm(3, 0, 0, 1, [
    POLL, *final(4, after_s16(480)), POLL]))
write('retry_machine', 'hint_over_cap_recorded_and_refused', rm(3, 0, 0, 1, [
    POLL, *status(7, after_s16(480)), POLL]))
write('retry_machine', 'gate_over_cap_refuses', rm(3, 0, 0, 1, [2, after_s16(480), POLL]))
write('retry_machine', 'gate_within_cap_waits', rm(3, 0, 0, 1, [
    2, after_ms(2000), POLL, 9, 2, POLL, SUCCESS, POLL]))
write('retry_machine', 'gate_over_cap_use_backoff', rm(3, 0, 0, 1 | 2, [
    2, 255, POLL, 9, 255, 9, 45, POLL, SUCCESS, POLL]))
write('retry_machine', 'gate_past_deadline', rm(3, 4, 0, 1, [2, after_ms(2000), POLL]))
write('retry_machine', 'cap_of_five_seconds', rm(4, 0, 0, 1 | 8, [
    5, POLL, *status(4, after_ms(4000)), POLL, 2, after_ms(6000), POLL, 9, 4, POLL]))
write('retry_machine', 'cap_zero_use_backoff', rm(3, 0, 0, 1 | 2 | 4, [
    POLL, *retryable(1, after_ms(900)), POLL, 9, 1, 2, after_ms(500), POLL, POLL, *status(0), POLL]))
write('retry_machine', 'clock_backwards', rm(3, 20, 10, 1, [
    POLL, 1, 200, POLL, *retryable(0), 1, 255, POLL, 0, 100, POLL, 9, 9, POLL]))

# deadline_table: capacity, shape (key type/hasher, keys), seed u64, when, then ops.
# op % 16: 0-4 record(key, offset), 5 record MAX, 6-7 lookup, 8 peek, 9 next_allowed,
# 10 remove, 11 remove_entry, 12-13 clock, 14 purge, 15 clear / jump.
def dt(cap, shape, when, ops):
    return bytes([cap - 1, shape]) + u64(0x5eed) + bytes([when]) + bytes(ops)

fill = []
for k in range(12):
    fill += [0, k, 20 + k]
write('deadline_table', 'fill_and_evict', dt(4, 4 * 12, 2, fill + [9, 0, 9, 11, 14, 0]))
write('deadline_table', 'expire_and_reclaim', dt(3, 4 * 8, 2,
      [0, 1, 10, 0, 2, 12, 0, 3, 30, 12, 0, 30, 0, 4, 30, 6, 1, 0, 5, 20, 14, 0]))
write('deadline_table', 'colliding_hasher', dt(9, 4 * 20 + 2, 2, fill + [6, 3, 8, 4, 10, 5, 5, 6]))
write('deadline_table', 'string_keys', dt(5, 4 * 6 + 3, 2, fill[:18] + [9, 2, 11, 3, 15, 0]))
write('deadline_table', 'near_instant_max', dt(2, 4 * 4, 3 | 4, [255, 5, 1, 0, 2, 31, 12, 0, 63, 9, 1, 14, 0]))
write('deadline_table', 'clock_backwards', dt(6, 4 * 10, 0, fill[:15] + [12, 0, 0, 13, 0, 1, 6, 2]))

# keyed: capacity-1, base ms u16, cap ms u32, cool-down tag (odd: + ms u16), jitter
# (0 none, 1 full, 2 equal, 3 decorrelated), bucket interval ms u16, burst, budget
# capacity-1, seed u64, then ops (op % 8: 0-2 when(key), 3 forget(key), 4 failures(key),
# 5 clock + ms u16, 6 clock - ms byte, 7 budget withdrawal for key u16).
def kd(cap, base, capms, cool, jitter, interval, burst, bcap, ops):
    c = bytes([1]) + u16(cool) if cool else bytes([0])
    return (bytes([cap - 1]) + u16(base) + u32(capms) + c + bytes([jitter]) + u16(interval)
            + bytes([burst, bcap - 1]) + u64(0x5eed) + bytes(ops))

client_go = [0, 7] * 12 + [4, 7, 3, 7, 0, 7, 4, 7]
write('keyed', 'client_go_one_item', kd(16, 5, 1_000_000, 0, 0, 100, 100, 4, client_go))
churn = []
for k in range(20):
    churn += [1, k, 0, k % 3]
write('keyed', 'churn_evicts', kd(4, 10, 60_000, 0, 0, 50, 3, 2, churn + [4, 0, 4, 19]))
cool = [0, 1, 0, 1, 0, 2, 5, 0x10, 0x27, 0, 3, 0, 1, 4, 1, 6, 200, 0, 1]
write('keyed', 'cool_down_reset', kd(2, 100, 10_000, 2000, 0, 10, 1, 1, cool))
write('keyed', 'full_jitter_bucket_debt', kd(8, 1, 5, 0, 1, 1000, 2, 3, [0, 1] * 10 + [5, 0xe8, 0x03] + [2, 2] * 5))
budget = []
for k in range(60):
    budget += [7, k, 0]
write('keyed', 'budget_churn', kd(1, 1, 1, 0, 3, 1, 1, 3, budget * 3))

# timeouts: three Timeouts (per field: presence byte, tagged duration), a duration,
# per-try, deadline tag + instant, now, wait, server tag, margin.
def dur(tag, payload=b''): return bytes([tag]) + payload
def some(d): return b'\x01' + d
NONE = b'\x00'
secs = lambda s: dur(3, u16(s))
kube = some(secs(0)) + some(secs(30)) + NONE + NONE + NONE
total5 = some(secs(5)) + NONE * 4
nothing = NONE * 5
write('timeouts', 'kubex_inherit_set', kube + total5 + nothing + secs(10)
      + some(secs(2)) + bytes([1]) + bytes([3]) + u16(3000) + bytes([3]) + u16(1000) + secs(1)
      + bytes([1]) + secs(5))
write('timeouts', 'deadline_passed', total5 + kube + total5 + dur(0)
      + NONE + bytes([1]) + bytes([3]) + u16(0) + bytes([3]) + u16(500) + dur(1)
      + bytes([0]) + dur(0))
write('timeouts', 'max_values', some(dur(2)) * 5 + some(dur(7, u16(9))) + NONE * 4 + nothing + dur(2)
      + some(dur(2)) + bytes([2, 1]) + bytes([2]) + u16(1) + dur(2)
      + bytes([2]) + dur(2))
write('timeouts', 'wait_ends_at_deadline', nothing + nothing + nothing + dur(1)
      + NONE + bytes([1, 4]) + u32(5000) + bytes([4]) + u32(3000) + dur(6, u64(2000))
      + bytes([3]) + u32(290) + secs(5))
write('timeouts', 'instant_max_is_no_deadline', kube + nothing + kube + secs(1)
      + some(secs(4)) + bytes([1, 1]) + bytes([0]) + dur(2)
      + bytes([1]) + dur(0))

# backoff: schedule tag + durations/factor, jitter tag, flags (1 raw f64 factor, 2 raw f64
# proportional jitter, 4 floor, 8 cap, 16 max_delays, 32 max_elapsed, 64 quiet), the
# settings, a seed u64, then ops (op % 8: 0 +ms u16, 1 -ms, 2 jump u64 ns, 3 reset, 4-7 next).
ms = lambda v: bytes([3]) + u16(v)
s_ = lambda v: bytes([5]) + u16(v)
NEXT = [4] * 8
write('backoff', 'kube_watcher', bytes([2]) + ms(800) + bytes([0]) + bytes([2]) + bytes([8]) + s_(30)
      + u64(1) + bytes(NEXT + [0, 0x30, 0x75, 4, 3, 4, 4]))
write('backoff', 'exponential_no_jitter_max_delays', bytes([2]) + ms(100) + bytes([0, 0]) + bytes([16 | 8])
      + s_(10) + bytes([5]) + u64(2) + bytes(NEXT + [3] + NEXT))
write('backoff', 'decorrelated_max_elapsed', bytes([0]) + ms(500) + bytes([4]) + bytes([32 | 8]) + s_(20)
      + s_(30) + u64(3) + bytes(NEXT * 3))
write('backoff', 'quiet_reset_and_clock_backwards', bytes([1]) + ms(200) + ms(300) + bytes([3]) + u32(500_000)
      + bytes([64]) + s_(2) + u64(4) + bytes(NEXT + [1, 200, 4, 0, 0xff, 0xff, 4, 2] + list(u64(0)) + [4]))
write('backoff', 'raw_float_factor', bytes([2]) + ms(1) + bytes([0, 0]) + bytes([1 | 2])
      + struct.pack('<d', 1.6) + struct.pack('<d', 0.2) + u64(5) + bytes(NEXT))
write('backoff', 'nan_factor', bytes([2]) + ms(1) + bytes([0, 0]) + bytes([1]) + struct.pack('<d', float('nan')) + u64(5))
write('backoff', 'fibonacci_floor_cap_extremes', bytes([3]) + bytes([1]) + bytes([1]) + bytes([4 | 8])
      + bytes([0]) + bytes([1]) + u64(6) + bytes(NEXT + [2] + list(u64(2**64 - 1)) + NEXT))
