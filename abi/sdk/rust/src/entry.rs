//! What the entry points written by `functions!` and `entry_points!` do:
//! build the handler's arguments, call it, turn its result into the
//! invocation's outcome; and the `wasmworker_functions` export's work.

use std::cell::RefCell;
use std::fmt;

use super::{
    http, input, install_panic_hook, keys, queue, raw, set_error, Context, Error, Function, Result, Source, Value,
};

/// The invocation an entry point serves, as its handler's arguments see it.
pub struct Invocation {
    entry: &'static str,
    declaration: Option<fn() -> Function>,
}

thread_local! {
    // The trigger binding's name per entry point (its declaration is built
    // once per instance).
    static TRIGGERS: RefCell<Vec<(&'static str, String)>> = const { RefCell::new(Vec::new()) };
}

impl Invocation {
    /// The entry point's export name.
    pub fn entry_point(&self) -> &str {
        self.entry
    }

    /// The name of the trigger binding: from the declaration
    /// ([`functions!`](crate::functions)), or else the only input binding,
    /// or else `msg`.
    pub fn trigger_name(&self) -> Result<String> {
        if let Some(decl) = self.declaration {
            let entry = self.entry;
            return Ok(TRIGGERS.with(|t| {
                if let Some((_, name)) = t.borrow().iter().find(|(e, _)| *e == entry) {
                    return name.clone();
                }
                let name = decl().trigger().name().to_string();
                t.borrow_mut().push((entry, name.clone()));
                name
            }));
        }
        let inputs = keys(Source::Input);
        match inputs.len() {
            1 => Ok(inputs.into_iter().next().unwrap_or_default()),
            _ if inputs.iter().any(|n| n == "msg") => Ok("msg".to_string()),
            _ => Err(Error::msg(format!(
                "entry point {}: which input is the trigger? inputs {:?}; declare the function with functions!",
                self.entry, inputs
            ))),
        }
    }
}

/// A handler argument read from the invocation.
pub trait FromInvocation: Sized {
    /// Reads it.
    fn from_invocation(inv: &Invocation) -> Result<Self>;
}

impl FromInvocation for http::Request {
    fn from_invocation(_: &Invocation) -> Result<Self> {
        http::Request::read()
    }
}

impl FromInvocation for queue::Message {
    fn from_invocation(inv: &Invocation) -> Result<Self> {
        queue::Message::read(&inv.trigger_name()?)
    }
}

impl FromInvocation for Value {
    /// The trigger binding's value.
    fn from_invocation(inv: &Invocation) -> Result<Self> {
        input(&inv.trigger_name()?)
    }
}

impl FromInvocation for Context {
    fn from_invocation(_: &Invocation) -> Result<Self> {
        Ok(Context::current())
    }
}

/// What a handler returns: `()`, an [`http::Response`] (sent as the
/// invocation's HTTP response), or a `Result` of those whose error (any
/// `Display`) becomes the failure message.
pub trait IntoOutcome {
    /// Finishes the invocation's outputs; `Err` is the failure message.
    fn into_outcome(self) -> std::result::Result<(), String>;
}

impl IntoOutcome for () {
    fn into_outcome(self) -> std::result::Result<(), String> {
        Ok(())
    }
}

impl IntoOutcome for http::Response {
    fn into_outcome(self) -> std::result::Result<(), String> {
        self.send().map_err(|e| e.to_string())
    }
}

impl<T: IntoOutcome, E: fmt::Display> IntoOutcome for std::result::Result<T, E> {
    fn into_outcome(self) -> std::result::Result<(), String> {
        match self {
            Ok(v) => v.into_outcome(),
            Err(e) => Err(e.to_string()),
        }
    }
}

/// A function usable as a handler: it takes up to three [`FromInvocation`]
/// arguments and returns an [`IntoOutcome`]. `Args` tells the impls apart.
pub trait Handler<Args> {
    /// Reads the arguments and calls the handler.
    fn call(self, inv: &Invocation) -> std::result::Result<(), String>;
}

impl<F, R> Handler<()> for F
where
    F: FnOnce() -> R,
    R: IntoOutcome,
{
    fn call(self, _: &Invocation) -> std::result::Result<(), String> {
        self().into_outcome()
    }
}

macro_rules! handler_impl {
    ($($a:ident),+) => {
        impl<F, R, $($a),+> Handler<($($a,)+)> for F
        where
            F: FnOnce($($a),+) -> R,
            R: IntoOutcome,
            $($a: FromInvocation),+
        {
            #[allow(non_snake_case)]
            fn call(self, inv: &Invocation) -> std::result::Result<(), String> {
                $(let $a = $a::from_invocation(inv).map_err(|e| e.to_string())?;)+
                self($($a),+).into_outcome()
            }
        }
    };
}

handler_impl!(A);
handler_impl!(A, B);
handler_impl!(A, B, C);

/// The body of an entry point: installs the panic hook, calls `handler`
/// with its arguments, returns 0, or 1 after setting the failure message.
pub fn invoke<Args, H: Handler<Args>>(entry: &'static str, declaration: Option<fn() -> Function>, handler: H) -> i32 {
    install_panic_hook();
    match handler.call(&Invocation { entry, declaration }) {
        Ok(()) => 0,
        Err(msg) => {
            set_error(&msg);
            1
        }
    }
}

/// An entry point's name and the function building its declaration.
pub type Declaration = (&'static str, fn() -> Function);

/// The body of `wasmworker_functions`: declares each (entry point,
/// declaration); a declaration built wrongly, or one the host refuses,
/// fails the module's indexing with a message naming it.
pub fn declare_all(functions: &[Declaration]) -> i32 {
    install_panic_hook();
    for (entry, decl) in functions {
        let f = decl();
        let json = match f.to_json(entry) {
            Ok(j) => j,
            Err(msg) => {
                set_error(&format!("wasmworker::functions!: {}", msg));
                return 1;
            }
        };
        let code = unsafe { raw::declare(json.as_ptr(), json.len()) };
        if code < 0 {
            set_error(&format!("wasmworker::functions!: declare {}: {}", f.name(), Error::host(code, "")));
            return 1;
        }
    }
    0
}
