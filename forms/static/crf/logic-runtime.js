/*
 * CrfLogic: the browser (and node) runtime of the REDCap logic language.
 *
 * The browser never parses logic. The server parses it once (forms/logic, lark grammar) and
 * generates JavaScript with forms.logic.to_js(expr): a function (ctx) => value that calls this
 * runtime. Every rule here mirrors forms/logic/values.py and forms/logic/functions.py; the
 * conformance table in tests/logic runs both and fails when they disagree.
 *
 * Values: strings (raw stored values and literals; '' is blank), numbers, booleans.
 * A context (see EvalContext below, or CrfLogic.dictContext(spec)) gives stored values.
 */
(function (root, factory) {
  "use strict";
  const lib = factory();
  if (typeof module === "object" && module && module.exports) {
    module.exports = lib;
  }
  if (root) {
    root.CrfLogic = lib;
  }
})(typeof globalThis !== "undefined" ? globalThis : this, function () {
  "use strict";

  const BLANK = "";
  const NUMERIC_RE = /^[ \t\n\r]*[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?[ \t\n\r]*$/;
  const STRICT_NUMBER_RE = /^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?$/;
  const STRICT_INTEGER_RE = /^-?(?:0|[1-9][0-9]*)$/;
  const DATE_RE = /^([0-9]{4})-([0-9]{2})-([0-9]{2})(?:[ T]([0-9]{2}):([0-9]{2})(?::([0-9]{2}))?)?$/;
  const SPACE_RE = /^[ \t\n\r\f\v]+|[ \t\n\r\f\v]+$/g;
  const DATEDIFF_UNITS = { y: 31556952, M: 2630016, d: 86400, h: 3600, m: 60, s: 1 };
  const LEGACY_DATE_FORMATS = ["ymd", "mdy", "dmy"];
  const EVENT_SMART_VARIABLES = ["event-name", "previous-event-name", "next-event-name", "first-event-name", "last-event-name"];
  const INSTANCE_WORDS = ["previous-instance", "current-instance", "next-instance", "first-instance", "last-instance"];

  // ---- value rules (values.py) --------------------------------------------------------------

  function isBlank(v) {
    return v === "";
  }

  function toNumber(v) {
    if (typeof v === "boolean") return v ? 1 : 0;
    if (typeof v === "number") return Number.isFinite(v) ? v : null;
    if (typeof v === "string" && v !== "" && NUMERIC_RE.test(v)) {
      const n = Number(v);
      return Number.isFinite(n) ? n : null;
    }
    return null;
  }

  function numberResult(n) {
    return Number.isFinite(n) ? n : BLANK;
  }

  function toStr(v) {
    if (typeof v === "boolean") return v ? "1" : "0";
    if (typeof v === "number") return String(v);
    return v == null ? "" : String(v);
  }

  function truthy(v) {
    if (typeof v === "boolean") return v;
    if (typeof v === "number") return v !== 0 && !Number.isNaN(v);
    if (v === "" || v == null) return false;
    const n = toNumber(v);
    return n !== null ? n !== 0 : true;
  }

  function cmp(op, left, right) {
    const a = toNumber(left);
    const b = toNumber(right);
    let x;
    let y;
    if (a !== null && b !== null) {
      x = a;
      y = b;
    } else if (op !== "=" && op !== "<>" && ((a !== null && isBlank(right)) || (b !== null && isBlank(left)))) {
      return false; // a blank ordered against a number: REDCap's NaN
    } else {
      x = toStr(left);
      y = toStr(right);
    }
    switch (op) {
      case "=": return x === y;
      case "<>": return x !== y;
      case "<": return x < y;
      case "<=": return x <= y;
      case ">": return x > y;
      default: return x >= y;
    }
  }

  function arith(op, left, right) {
    const a = toNumber(left);
    const b = toNumber(right);
    if (a === null || b === null) return BLANK;
    switch (op) {
      case "+": return numberResult(a + b);
      case "-": return numberResult(a - b);
      case "*": return numberResult(a * b);
      case "/": return b === 0 ? BLANK : numberResult(a / b);
      default: return numberResult(Math.pow(a, b));
    }
  }

  function neg(v) {
    const n = toNumber(v);
    return n === null ? BLANK : -n;
  }

  function pos(v) {
    const n = toNumber(v);
    return n === null ? BLANK : n;
  }

  // ---- dates --------------------------------------------------------------------------------

  function pad(n, width) {
    return String(n).padStart(width, "0");
  }

  // Milliseconds of a naive (zone-less) date-time, computed in UTC so that DST never shifts a diff.
  function parseDatetime(v, ctx) {
    if (typeof v !== "string") return null;
    let text = v.trim();
    const lowered = text.toLowerCase();
    if (lowered === "today") text = String(ctx.today).slice(0, 10);
    else if (lowered === "now") text = String(ctx.now).slice(0, 19);
    const m = DATE_RE.exec(text);
    if (!m) return null;
    const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
    const [hour, minute, second] = [Number(m[4] || 0), Number(m[5] || 0), Number(m[6] || 0)];
    if (year < 1 || hour > 23 || minute > 59 || second > 59) return null;
    const d = new Date(0);
    d.setUTCFullYear(year, month - 1, day); // not Date.UTC: it maps years 0-99 to 1900-1999
    d.setUTCHours(hour, minute, second, 0);
    if (d.getUTCFullYear() !== year || d.getUTCMonth() !== month - 1 || d.getUTCDate() !== day) return null;
    return d.getTime();
  }

  function formatDatetime(ms, withTime, withSeconds) {
    const d = new Date(ms);
    const day = pad(d.getUTCFullYear(), 4) + "-" + pad(d.getUTCMonth() + 1, 2) + "-" + pad(d.getUTCDate(), 2);
    if (!withTime) return day;
    const time = pad(d.getUTCHours(), 2) + ":" + pad(d.getUTCMinutes(), 2);
    return day + " " + (withSeconds ? time + ":" + pad(d.getUTCSeconds(), 2) : time);
  }

  function signedFlag(v) {
    if (typeof v === "string") {
      const word = v.trim().toLowerCase();
      if (word === "true" || word === "false") return word === "true";
    }
    return truthy(v);
  }

  // ---- rounding on the shortest decimal text (functions.py) ---------------------------------

  const MAX_PLACES = 400; // past this, shifting changes nothing more (see functions.py)

  function shift(x, places) {
    const [mantissa, exponent] = x.toExponential().split("e");
    return Number(mantissa + "e" + (Number(exponent) + places));
  }

  function roundWith(x, places, mode) {
    const shifted = shift(x, places);
    if (!Number.isFinite(shifted) || Math.abs(shifted) >= 2 ** 52) return x;
    let integer;
    if (mode === "half") integer = Math.sign(shifted) * Math.round(Math.abs(shifted));
    else if (mode === "up") integer = Math.ceil(shifted);
    else integer = Math.floor(shifted);
    return Number(String(integer) + "e" + -places);
  }

  function rounding(mode) {
    return function (ctx, value, places) {
      const n = toNumber(value);
      const digits = places === undefined ? 0 : toNumber(places);
      if (n === null || digits === null) return BLANK;
      return numberResult(roundWith(n, Math.max(-MAX_PLACES, Math.min(MAX_PLACES, Math.trunc(digits))), mode));
    };
  }

  // ---- functions ----------------------------------------------------------------------------

  function unaryMath(operation) {
    return function (ctx, value) {
      const n = toNumber(value);
      return n === null ? BLANK : numberResult(operation(n));
    };
  }

  function numbers(args) {
    const out = [];
    for (const arg of args) {
      const n = toNumber(arg);
      if (n !== null) out.push(n);
    }
    return out;
  }

  function total(list) {
    let sum = 0;
    for (const n of list) sum += n;
    return sum;
  }

  function chars(v) {
    return Array.from(toStr(v)); // code points, as Python strings
  }

  function count(v) {
    const n = toNumber(v);
    return n === null ? null : Math.trunc(n);
  }

  function datePart(part) {
    return function (ctx, value) {
      const ms = parseDatetime(value, ctx);
      if (ms === null) return BLANK;
      const d = new Date(ms);
      if (part === "year") return d.getUTCFullYear();
      if (part === "month") return d.getUTCMonth() + 1;
      return d.getUTCDate();
    };
  }

  const fn = {
    datediff(ctx, first, second, unit, ...rest) {
      const options = rest.slice();
      if (options.length && typeof options[0] === "string" && LEGACY_DATE_FORMATS.includes(options[0].trim().toLowerCase())) {
        options.shift();
      }
      const signed = options.length ? signedFlag(options[0]) : false;
      const perUnit = Object.prototype.hasOwnProperty.call(DATEDIFF_UNITS, toStr(unit).trim())
        ? DATEDIFF_UNITS[toStr(unit).trim()]
        : null;
      const start = parseDatetime(first, ctx);
      const end = parseDatetime(second, ctx);
      if (perUnit === null || start === null || end === null) return BLANK;
      const difference = (end - start) / 1000 / perUnit;
      return signed ? difference : Math.abs(difference);
    },
    calcdate(ctx, value, offset, unit) {
      const start = parseDatetime(value, ctx);
      const amount = toNumber(offset);
      const key = toStr(unit).trim();
      const perUnit = Object.prototype.hasOwnProperty.call(DATEDIFF_UNITS, key) ? DATEDIFF_UNITS[key] : null;
      if (start === null || amount === null || perUnit === null) return BLANK;
      const ms = start + Math.round(amount * perUnit) * 1000;
      const d = new Date(ms);
      if (!Number.isFinite(ms) || Number.isNaN(d.getTime()) || d.getUTCFullYear() < 1 || d.getUTCFullYear() > 9999) return BLANK;
      const text = toStr(value).trim();
      if (text.length === 10 || text.toLowerCase() === "today") return formatDatetime(ms, false, false);
      return formatDatetime(ms, true, text.length !== 16);
    },
    calctext: (ctx, v) => v,
    round: rounding("half"),
    roundup: rounding("up"),
    rounddown: rounding("down"),
    abs: unaryMath(Math.abs),
    sqrt: unaryMath(Math.sqrt),
    exponential: unaryMath(Math.exp),
    log(ctx, value, base) {
      const n = toNumber(value);
      if (n === null || n <= 0) return BLANK;
      if (base === undefined || isBlank(base)) return numberResult(Math.log(n));
      const b = toNumber(base);
      if (b === null || b <= 0 || b === 1) return BLANK;
      return numberResult(Math.log(n) / Math.log(b));
    },
    mod(ctx, dividend, divisor) {
      const a = toNumber(dividend);
      const b = toNumber(divisor);
      if (a === null || b === null || b === 0) return BLANK;
      return numberResult(a % b);
    },
    min(ctx, ...args) {
      const list = numbers(args);
      return list.length ? Math.min(...list) : BLANK;
    },
    max(ctx, ...args) {
      const list = numbers(args);
      return list.length ? Math.max(...list) : BLANK;
    },
    sum(ctx, ...args) {
      const list = numbers(args);
      return list.length ? numberResult(total(list)) : BLANK;
    },
    mean(ctx, ...args) {
      const list = numbers(args);
      return list.length ? numberResult(total(list) / list.length) : BLANK;
    },
    median(ctx, ...args) {
      const list = numbers(args).sort((a, b) => a - b);
      if (!list.length) return BLANK;
      const middle = Math.floor(list.length / 2);
      return list.length % 2 ? list[middle] : numberResult((list[middle - 1] + list[middle]) / 2);
    },
    stdev(ctx, ...args) {
      const list = numbers(args);
      if (list.length < 2) return BLANK;
      const mean = total(list) / list.length;
      let squares = 0;
      for (const n of list) squares += (n - mean) * (n - mean);
      return numberResult(Math.sqrt(squares / (list.length - 1)));
    },
    isnumber(ctx, v) {
      if (typeof v === "boolean") return false;
      if (typeof v === "number") return Number.isFinite(v);
      return STRICT_NUMBER_RE.test(v);
    },
    isinteger(ctx, v) {
      if (typeof v === "boolean") return false;
      if (typeof v === "number") return Number.isFinite(v) && Math.floor(v) === v;
      return STRICT_INTEGER_RE.test(v);
    },
    contains: (ctx, h, n) => toStr(h).toLowerCase().includes(toStr(n).toLowerCase()),
    not_contain: (ctx, h, n) => !toStr(h).toLowerCase().includes(toStr(n).toLowerCase()),
    starts_with: (ctx, h, n) => toStr(h).toLowerCase().startsWith(toStr(n).toLowerCase()),
    ends_with: (ctx, h, n) => toStr(h).toLowerCase().endsWith(toStr(n).toLowerCase()),
    find(ctx, needle, haystack) {
      const h = toStr(haystack).toLowerCase();
      const index = h.indexOf(toStr(needle).toLowerCase());
      return index < 0 ? 0 : Array.from(h.slice(0, index)).length + 1;
    },
    left(ctx, text, n) {
      const k = count(n);
      if (k === null) return BLANK;
      return chars(text).slice(0, Math.max(k, 0)).join("");
    },
    right(ctx, text, n) {
      const k = count(n);
      if (k === null) return BLANK;
      return k > 0 ? chars(text).slice(-k).join("") : BLANK;
    },
    mid(ctx, text, start, n) {
      const first = count(start);
      const k = count(n);
      if (first === null || k === null) return BLANK;
      const begin = Math.max(first, 1) - 1;
      return chars(text).slice(begin, begin + Math.max(k, 0)).join("");
    },
    length: (ctx, text) => chars(text).length,
    trim: (ctx, text) => toStr(text).replace(SPACE_RE, ""),
    upper: (ctx, text) => toStr(text).toUpperCase(),
    lower: (ctx, text) => toStr(text).toLowerCase(),
    concat: (ctx, ...args) => args.map(toStr).join(""),
    concat_ws: (ctx, separator, ...args) => args.filter((a) => !isBlank(a)).map(toStr).join(toStr(separator)),
    replace_text(ctx, text, find, replacement) {
      const needle = toStr(find);
      if (needle === "") return toStr(text);
      return toStr(text).split(needle).join(toStr(replacement));
    },
    year: datePart("year"),
    month: datePart("month"),
    day: datePart("day"),
  };

  // ---- references (evaluator.py) ------------------------------------------------------------

  const UNRESOLVED = {};

  function resolveInstance(ctx, instance, field, event) {
    const current = ctx.currentInstance == null ? null : Number(ctx.currentInstance);
    if (/^[0-9]+$/.test(instance)) return Number(instance);
    if (instance === "current-instance") return current;
    if (instance === "previous-instance") return current && current > 1 ? current - 1 : null;
    if (instance === "next-instance") return current ? current + 1 : null;
    const existing = field ? ctx.instances(field, event) : current ? [current] : [];
    if (!existing || !existing.length) return null;
    return instance === "first-instance" ? Math.min(...existing) : Math.max(...existing);
  }

  function locate(ctx, field, event, instance) {
    if (event !== null && EVENT_SMART_VARIABLES.includes(event)) {
      const resolved = ctx.resolveEvent(event);
      if (resolved == null && event !== "event-name") return UNRESOLVED;
      event = resolved == null ? null : resolved;
    }
    if (instance === null) return [event, null];
    const number = resolveInstance(ctx, instance, field, event);
    return number === null ? UNRESOLVED : [event, number];
  }

  function ref(ctx, field, event, code, instance) {
    const where = locate(ctx, field, event, instance);
    if (code === null) return where === UNRESOLVED ? BLANK : toStr(ctx.value(field, where[0], where[1]));
    return where === UNRESOLVED ? "0" : toStr(ctx.checkbox(field, code, where[0], where[1]));
  }

  function smart(ctx, name, param) {
    return toStr(ctx.smartVariable(name, param));
  }

  function missingCodes(ctx) {
    const codes = ctx.missingCodes || [];
    return codes instanceof Set ? codes : new Set(codes);
  }

  function missingTest(name, value, code) {
    if (name === "ismissingcode") return code !== "";
    if (name === "isblankormissingcode") return isBlank(value) || code !== "";
    return isBlank(value) && code === "";
  }

  function missingRef(ctx, name, field, event, instance) {
    const where = locate(ctx, field, event, instance);
    if (where === UNRESOLVED) return missingTest(name, BLANK, "");
    return missingTest(name, toStr(ctx.value(field, where[0], where[1])), toStr(ctx.missingCode(field, where[0], where[1])));
  }

  function missingValue(ctx, name, v) {
    const text = toStr(v);
    return missingTest(name, text, missingCodes(ctx).has(text) ? text : "");
  }

  // ---- contexts (context.py) ----------------------------------------------------------------

  function isoToday() {
    const d = new Date();
    return pad(d.getFullYear(), 4) + "-" + pad(d.getMonth() + 1, 2) + "-" + pad(d.getDate(), 2);
  }

  function isoNow() {
    const d = new Date();
    return isoToday() + " " + pad(d.getHours(), 2) + ":" + pad(d.getMinutes(), 2) + ":" + pad(d.getSeconds(), 2);
  }

  /** Base context: extend it and override value() and checkbox() (and instances() for repeats). */
  class EvalContext {
    constructor(options) {
      const o = options || {};
      this.recordName = o.record_name || "";
      this.eventName = o.event_name || "";
      this.recordDagName = o.record_dag_name || "";
      this.userDagName = o.user_dag_name || "";
      this.currentInstance = o.current_instance == null ? null : Number(o.current_instance);
      this.missingCodes = new Set(o.missing_codes || []);
      this.now = o.now ? String(o.now).replace("T", " ") : o.today ? o.today + " 00:00:00" : isoNow();
      this.today = o.today || (o.now ? String(o.now).slice(0, 10) : isoToday());
    }
    value() {
      return BLANK;
    }
    checkbox() {
      return "0";
    }
    instances() {
      return this.currentInstance ? [this.currentInstance] : [];
    }
    missingCode(field, event, instance) {
      const stored = toStr(this.value(field, event, instance));
      return this.missingCodes.has(stored) ? stored : "";
    }
    resolveEvent(name) {
      return name === "event-name" ? this.eventName || null : null;
    }
    smartVariable(name, param) {
      if (name === "record-name") return this.recordName;
      if (name === "event-name") return this.eventName;
      if (name === "record-dag-name") return this.recordDagName;
      if (name === "user-dag-name") return this.userDagName;
      if (INSTANCE_WORDS.includes(name)) {
        const n = resolveInstance(this, name, null, null);
        return n === null ? "" : String(n);
      }
      return "";
    }
  }

  function exportCode(code) {
    return code.replace(/-/g, "_").replace(/\./g, "_").toLowerCase().replace(/[^a-z0-9_]/g, "");
  }

  function byInstance(map) {
    const out = new Map();
    for (const key of Object.keys(map || {})) out.set(Number(key), map[key]);
    return out;
  }

  /** A context over plain objects: the same spec as DictContext.from_spec in Python. */
  class DictContext extends EvalContext {
    constructor(spec) {
      const s = spec || {};
      super(s);
      this.values = s.values || {};
      this.events = s.events || {};
      this.repeats = new Map([["", byInstance(s.instances)]]);
      for (const name of Object.keys(s.event_instances || {})) this.repeats.set(name, byInstance(s.event_instances[name]));
      this.missing = s.missing || {};
      this.smart = s.smart || {};
    }
    isCurrentEvent(event) {
      return event == null || event === this.eventName;
    }
    fields(event, instance) {
      const current = this.isCurrentEvent(event);
      const key = current ? "" : String(event);
      const repeats = this.repeats.get(key) || new Map();
      if (instance != null && repeats.has(instance)) return repeats.get(instance);
      const plain = current ? this.values : this.events[key] || {};
      if (instance == null || instance === (current ? this.currentInstance || 1 : 1)) return plain;
      return {};
    }
    value(field, event, instance) {
      const stored = Object.prototype.hasOwnProperty.call(this.fields(event, instance), field)
        ? this.fields(event, instance)[field]
        : "";
      if (Array.isArray(stored)) return "";
      return stored == null ? "" : String(stored);
    }
    checkbox(field, code, event, instance) {
      const fields = this.fields(event, instance);
      const stored = fields[field];
      if (Array.isArray(stored)) return stored.map(String).includes(code) ? "1" : "0";
      const column = field + "___" + exportCode(code);
      return String(fields[column] == null ? "" : fields[column]) === "1" ? "1" : "0";
    }
    instances(field, event) {
      const current = this.isCurrentEvent(event);
      const numbers = new Set((this.repeats.get(current ? "" : String(event)) || new Map()).keys());
      if (current && this.currentInstance) numbers.add(this.currentInstance);
      return Array.from(numbers).sort((a, b) => a - b);
    }
    missingCode(field, event, instance) {
      if (this.isCurrentEvent(event) && (instance == null || instance === this.currentInstance)) {
        const code = this.missing[field];
        if (code) return code;
      }
      return super.missingCode(field, event, instance);
    }
    smartVariable(name, param) {
      const key = param == null ? name : name + ":" + param;
      if (Object.prototype.hasOwnProperty.call(this.smart, key)) return this.smart[key];
      return super.smartVariable(name, param);
    }
  }

  return {
    BLANK,
    isBlank,
    toNumber,
    toStr,
    truthy,
    cmp,
    arith,
    neg,
    pos,
    fn,
    ref,
    smart,
    missingRef,
    missingValue,
    resolveInstance,
    parseDatetime,
    EvalContext,
    DictContext,
    dictContext: (spec) => new DictContext(spec),
    /** Compile the source produced by forms.logic.to_js into a function (ctx) => value. */
    compile: (source) => (0, eval)(source), // eslint-disable-line no-eval -- server-generated code only
  };
});
