// Copies an argument into plain data before Rust reads it.
//
// Reading a JS object can run the caller's code: a getter, a Proxy trap, a subclass's
// `getTime` or a typed array's own `length`. An exception thrown there while a Rust frame is on
// the stack unwinds through WebAssembly without running Rust's epilogues: the engine stays
// borrowed (every later call fails) and the shadow stack leaks until the module traps. So every
// object argument is copied here first, where an exception is caught and returned as a message,
// and Rust only ever reads the copy: own enumerable properties of plain objects, arrays element
// by element, `Date`s as fresh `Date`s, typed arrays and `ArrayBuffer`s by their real contents.

// The intrinsics, taken once, so that what an argument overrides is never called.
const dateGetTime = Date.prototype.getTime;
const typedArrayTag = Object.getOwnPropertyDescriptor(
    Object.getPrototypeOf(Uint8Array.prototype),
    Symbol.toStringTag,
).get;
const arrayBufferSlice = ArrayBuffer.prototype.slice;
const objectPrototype = Object.prototype;
const objectToString = Object.prototype.toString;
const getPrototypeOf = Object.getPrototypeOf;
const isArray = Array.isArray;
const keys = Object.keys;
const defineProperty = Object.defineProperty;
const typedArrays = {
    Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Uint32Array,
    Float32Array, Float64Array, BigInt64Array, BigUint64Array,
};

// Deeper than any argument of the API (an array of objects holding arrays); more is a cycle.
const MAX_DEPTH = 16;

function copy(value, depth) {
    if (value === null || typeof value !== "object") {
        return value; // primitives, and functions, which no conversion reads into
    }
    if (depth > MAX_DEPTH) {
        throw new RangeError(`nested more than ${MAX_DEPTH} levels deep (a cycle?)`);
    }
    const proto = getPrototypeOf(value);
    if (proto === objectPrototype || proto === null) {
        return copyObject(value, depth); // the common case: no Date, array or buffer to look for
    }
    const tag = typedArrayTag.call(value);
    if (tag !== undefined) {
        return new typedArrays[tag](value); // its own elements, whatever `length` says
    }
    // `toString`'s tag is only a hint (an object can claim any tag); the intrinsic call decides.
    const hint = objectToString.call(value);
    if (hint === "[object Date]") {
        try {
            return new Date(dateGetTime.call(value));
        } catch {
            // not a Date after all: copied as an object below
        }
    } else if (hint === "[object ArrayBuffer]") {
        try {
            return arrayBufferSlice.call(value, 0);
        } catch {
            // not an ArrayBuffer after all
        }
    }
    if (isArray(value)) {
        const n = value.length;
        const out = [];
        for (let i = 0; i < n; i++) {
            out.push(copy(value[i], depth + 1));
        }
        return out;
    }
    return copyObject(value, depth);
}

function copyObject(value, depth) {
    const out = {};
    for (const key of keys(value)) {
        const v = copy(value[key], depth + 1);
        if (key === "__proto__") {
            // assigning would set the copy's prototype: define it as the plain property it was
            defineProperty(out, key, { value: v, enumerable: true, writable: true, configurable: true });
        } else {
            out[key] = v;
        }
    }
    return out;
}

function describe(error) {
    try {
        return error instanceof Error ? String(error.message) : String(error);
    } catch {
        return "reading it threw an exception";
    }
}

// `{ value }` with the copy, or `{ error }` with what went wrong; never throws.
export function snapshot(value) {
    try {
        return { value: copy(value, 0) };
    } catch (error) {
        return { error: describe(error) };
    }
}

// `Array.isArray`, false where it throws (a revoked Proxy).
export function isArrayQuietly(value) {
    try {
        return isArray(value);
    } catch {
        return false;
    }
}
