//! Declarations of functions in code (SPEC.md §2.3): what a function.json
//! says, built with typed constructors and written as JSON by the SDK.

use super::json::{write_str, Json};

/// The direction of a binding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    In,
    Out,
    InOut,
}

impl Direction {
    fn as_str(self) -> &'static str {
        match self {
            Direction::In => "in",
            Direction::Out => "out",
            Direction::InOut => "inout",
        }
    }
}

/// One binding of a function: its type, direction, name and the properties
/// of its type (`queueName`, `connection`, `route`, …), as in
/// function.json. The constructors cover the common bindings;
/// [`Binding::new`] and [`Binding::with`] any other.
#[derive(Clone, Debug, PartialEq)]
pub struct Binding {
    ty: String,
    direction: Direction,
    name: String,
    props: Vec<(String, Json)>,
}

/// The app setting holding the storage connection the storage bindings use
/// unless told otherwise.
const STORAGE: &str = "AzureWebJobsStorage";

impl Binding {
    /// A binding of type `ty` (`"eventHubTrigger"`, `"cosmosDB"`, …).
    pub fn new(ty: &str, direction: Direction, name: &str) -> Binding {
        Binding { ty: ty.to_string(), direction, name: name.to_string(), props: Vec::new() }
    }

    /// Sets property `key` (as spelled in function.json) to `value`; setting
    /// a key again replaces it.
    pub fn with(mut self, key: &str, value: impl Into<Json>) -> Binding {
        let value = value.into();
        match self.props.iter_mut().find(|(k, _)| k == key) {
            Some(p) => p.1 = value,
            None => self.props.push((key.to_string(), value)),
        }
        self
    }

    /// Sets `connection`: the app setting with the service's connection.
    pub fn connection(self, setting: &str) -> Binding {
        self.with("connection", setting)
    }

    /// An HTTP trigger named `name`, anonymous, any method, the route being
    /// the function's name.
    pub fn http_trigger(name: &str) -> Binding {
        Binding::new("httpTrigger", Direction::In, name).with("authLevel", "anonymous")
    }

    /// The HTTP response output (`name` is often `res` or `$return`).
    pub fn http_out(name: &str) -> Binding {
        Binding::new("http", Direction::Out, name)
    }

    /// A queue trigger on `queue` (connection `AzureWebJobsStorage`).
    pub fn queue_trigger(name: &str, queue: &str) -> Binding {
        Binding::new("queueTrigger", Direction::In, name).with("queueName", queue).connection(STORAGE)
    }

    /// A queue output binding writing to `queue` (connection
    /// `AzureWebJobsStorage`).
    pub fn queue(name: &str, queue: &str) -> Binding {
        Binding::new("queue", Direction::Out, name).with("queueName", queue).connection(STORAGE)
    }

    /// A timer trigger with an NCRONTAB `schedule` (`"0 */5 * * * *"`).
    pub fn timer_trigger(name: &str, schedule: &str) -> Binding {
        Binding::new("timerTrigger", Direction::In, name).with("schedule", schedule)
    }

    /// A blob trigger on `path` (`"container/{name}"`, connection
    /// `AzureWebJobsStorage`).
    pub fn blob_trigger(name: &str, path: &str) -> Binding {
        Binding::new("blobTrigger", Direction::In, name).with("path", path).connection(STORAGE)
    }

    /// A blob input binding reading `path`.
    pub fn blob_in(name: &str, path: &str) -> Binding {
        Binding::new("blob", Direction::In, name).with("path", path).connection(STORAGE)
    }

    /// A blob output binding writing `path`.
    pub fn blob_out(name: &str, path: &str) -> Binding {
        Binding::new("blob", Direction::Out, name).with("path", path).connection(STORAGE)
    }

    /// The binding's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The binding's type.
    pub fn binding_type(&self) -> &str {
        &self.ty
    }

    /// The binding's direction.
    pub fn direction(&self) -> Direction {
        self.direction
    }

    /// Whether it is a trigger (its type ends in `Trigger`).
    pub fn is_trigger(&self) -> bool {
        self.ty.ends_with("Trigger") && self.direction == Direction::In
    }

    fn write(&self, out: &mut String) {
        out.push_str("{\"type\":");
        write_str(out, &self.ty);
        out.push_str(",\"direction\":");
        write_str(out, self.direction.as_str());
        out.push_str(",\"name\":");
        write_str(out, &self.name);
        for (k, v) in &self.props {
            if k == "type" || k == "direction" || k == "name" {
                continue;
            }
            out.push(',');
            write_str(out, k);
            out.push(':');
            v.write(out);
        }
        out.push('}');
    }
}

/// A retry policy (function.json `retry`).
#[derive(Clone, Debug, PartialEq)]
pub struct Retry {
    fields: Vec<(String, Json)>,
}

impl Retry {
    /// Retries up to `max_retry_count` times, `delay` apart (`"00:00:05"`).
    pub fn fixed_delay(max_retry_count: i32, delay: &str) -> Retry {
        Retry {
            fields: vec![
                ("strategy".into(), "fixedDelay".into()),
                ("maxRetryCount".into(), max_retry_count.into()),
                ("delayInterval".into(), delay.into()),
            ],
        }
    }

    /// Retries up to `max_retry_count` times with delays growing from
    /// `minimum` to `maximum` (`"00:00:04"`, `"00:15:00"`).
    pub fn exponential_backoff(max_retry_count: i32, minimum: &str, maximum: &str) -> Retry {
        Retry {
            fields: vec![
                ("strategy".into(), "exponentialBackoff".into()),
                ("maxRetryCount".into(), max_retry_count.into()),
                ("minimumInterval".into(), minimum.into()),
                ("maximumInterval".into(), maximum.into()),
            ],
        }
    }
}

/// One function's declaration: its name, bindings (exactly one trigger),
/// retry policy, `disabled`, and its `wasmworker` grants and limits. The
/// entry point is set by [`functions!`](crate::functions) (the handler's
/// name).
///
/// ```ignore
/// Function::http("HttpHello").route("hello/{name?}").methods(["get", "post"])
/// Function::queue("ProcessJob", "jobs").output(Binding::queue("result", "results"))
///     .retry(Retry::fixed_delay(3, "00:00:05")).env(["GREETING"])
/// Function::new("OnEvent", Binding::new("eventHubTrigger", Direction::In, "events")
///     .with("eventHubName", "hub").connection("EventHubs"))
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Function {
    name: String,
    bindings: Vec<Binding>,
    retry: Option<Retry>,
    disabled: Option<bool>,
    grants: Vec<(String, Json)>,
    problem: Option<String>,
}

impl Function {
    /// A function named `name` (as a function folder's name:
    /// `^[A-Za-z][A-Za-z0-9_-]*$`) with the trigger `trigger`.
    pub fn new(name: &str, trigger: Binding) -> Function {
        let mut f = Function {
            name: name.to_string(),
            bindings: vec![trigger],
            retry: None,
            disabled: None,
            grants: Vec::new(),
            problem: None,
        };
        if !f.bindings[0].is_trigger() {
            f.problem = Some(format!(
                "{}: Function::new needs a trigger binding (a type ending in Trigger, direction In), not {:?}",
                name, f.bindings[0].ty
            ));
        }
        f
    }

    /// An HTTP function: trigger `req` (anonymous, any method, route = the
    /// function's name) and the response output `res`. Change them with
    /// [`route`](Function::route), [`methods`](Function::methods),
    /// [`auth_level`](Function::auth_level).
    pub fn http(name: &str) -> Function {
        Function::new(name, Binding::http_trigger("req")).binding(Binding::http_out("res"))
    }

    /// A queue function: trigger `msg` on `queue` (connection
    /// `AzureWebJobsStorage`).
    pub fn queue(name: &str, queue: &str) -> Function {
        Function::new(name, Binding::queue_trigger("msg", queue))
    }

    /// A timer function: trigger `timer` with an NCRONTAB schedule.
    pub fn timer(name: &str, schedule: &str) -> Function {
        Function::new(name, Binding::timer_trigger("timer", schedule))
    }

    /// A blob function: trigger `blob` on `path` (`"container/{name}"`).
    pub fn blob(name: &str, path: &str) -> Function {
        Function::new(name, Binding::blob_trigger("blob", path))
    }

    /// Sets the HTTP trigger's route (`"hello/{name?}"`, under the
    /// `api/` prefix).
    pub fn route(self, route: &str) -> Function {
        self.http_property("route", route.into())
    }

    /// Sets the HTTP methods the trigger accepts (`["get", "post"]`).
    pub fn methods<const N: usize>(self, methods: [&str; N]) -> Function {
        let list = methods.iter().map(|m| Json::from(m.to_ascii_lowercase())).collect();
        self.http_property("methods", Json::Array(list))
    }

    /// Sets the HTTP trigger's `authLevel` (`anonymous`, `function`, `admin`).
    pub fn auth_level(self, level: &str) -> Function {
        self.http_property("authLevel", level.into())
    }

    fn http_property(mut self, key: &str, value: Json) -> Function {
        let t = &mut self.bindings[0];
        if t.ty != "httpTrigger" {
            if self.problem.is_none() {
                self.problem = Some(format!("{}: {} applies to an httpTrigger, not a {}", self.name, key, t.ty));
            }
            return self;
        }
        *t = t.clone().with(key, value);
        self
    }

    /// Sets property `key` of the trigger binding.
    pub fn trigger_with(mut self, key: &str, value: impl Into<Json>) -> Function {
        self.bindings[0] = self.bindings[0].clone().with(key, value);
        self
    }

    /// Renames the trigger binding (default `req`, `msg`, `timer`, `blob`).
    pub fn trigger_name(mut self, name: &str) -> Function {
        self.bindings[0].name = name.to_string();
        self
    }

    /// Adds a binding (input or output).
    pub fn binding(mut self, b: Binding) -> Function {
        if b.is_trigger() && self.problem.is_none() {
            self.problem = Some(format!("{}: a second trigger {:?}; a function has exactly one", self.name, b.name));
        }
        if b.name.eq_ignore_ascii_case("$return") && b.direction != Direction::Out && self.problem.is_none() {
            self.problem = Some(format!("{}: $return is only an output binding", self.name));
        }
        self.bindings.push(b);
        self
    }

    /// Adds an output binding, e.g. [`Binding::queue`]`("result", "results")`.
    pub fn output(self, b: Binding) -> Function {
        self.binding(b)
    }

    /// Adds an input binding, e.g. [`Binding::blob_in`]`("doc", "docs/{id}")`.
    pub fn input(self, b: Binding) -> Function {
        self.binding(b)
    }

    /// Makes the HTTP response the return value (`$return`) instead of `res`.
    pub fn http_return(mut self) -> Function {
        for b in &mut self.bindings {
            if b.ty == "http" && b.direction == Direction::Out {
                b.name = "$return".to_string();
            }
        }
        self
    }

    /// Sets the retry policy.
    pub fn retry(mut self, retry: Retry) -> Function {
        self.retry = Some(retry);
        self
    }

    /// Disables the function (it is listed but never triggered).
    pub fn disabled(mut self, disabled: bool) -> Function {
        self.disabled = Some(disabled);
        self
    }

    /// Sets a key of the function's `wasmworker` section (README "Limits and
    /// grants"): `memoryMB`, `timeout`, `maxInstances`, `isolate`, …
    pub fn grant(mut self, key: &str, value: impl Into<Json>) -> Function {
        let value = value.into();
        match self.grants.iter_mut().find(|(k, _)| k == key) {
            Some(p) => p.1 = value,
            None => self.grants.push((key.to_string(), value)),
        }
        self
    }

    /// The app settings the function may read as its environment.
    pub fn env<const N: usize>(self, settings: [&str; N]) -> Function {
        self.grant("env", settings)
    }

    /// The destinations of outbound HTTP requests the function may reach
    /// (`"https://api.example.com"`, SPEC.md §5.7).
    pub fn allowed_hosts<const N: usize>(self, hosts: [&str; N]) -> Function {
        self.grant("allowedHosts", hosts)
    }

    /// Mounts the app folder `path` at `mount` in the guest (read-only
    /// unless `writable`).
    pub fn dir(mut self, path: &str, mount: &str, writable: bool) -> Function {
        let d = Json::Object(vec![
            ("path".into(), path.into()),
            ("mount".into(), mount.into()),
            ("writable".into(), writable.into()),
        ]);
        match self.grants.iter_mut().find(|(k, _)| k == "dirs") {
            Some((_, Json::Array(list))) => list.push(d),
            _ => self.grants.push(("dirs".into(), Json::Array(vec![d]))),
        }
        self
    }

    /// The function's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The bindings, the trigger first.
    pub fn bindings(&self) -> &[Binding] {
        &self.bindings
    }

    /// The trigger binding.
    pub fn trigger(&self) -> &Binding {
        &self.bindings[0]
    }

    /// The declaration as SPEC.md §2.3 JSON, with `entry_point` as its
    /// `entryPoint`; an error for a declaration built wrongly (a second
    /// trigger, an HTTP setting on another trigger).
    pub fn to_json(&self, entry_point: &str) -> Result<String, String> {
        if let Some(p) = &self.problem {
            return Err(p.clone());
        }
        let mut out = String::from("{\"name\":");
        write_str(&mut out, &self.name);
        out.push_str(",\"entryPoint\":");
        write_str(&mut out, entry_point);
        out.push_str(",\"bindings\":[");
        for (i, b) in self.bindings.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            b.write(&mut out);
        }
        out.push(']');
        if let Some(r) = &self.retry {
            out.push_str(",\"retry\":");
            Json::Object(r.fields.clone()).write(&mut out);
        }
        if let Some(d) = self.disabled {
            out.push_str(if d { ",\"disabled\":true" } else { ",\"disabled\":false" });
        }
        if !self.grants.is_empty() {
            out.push_str(",\"wasmworker\":");
            Json::Object(self.grants.clone()).write(&mut out);
        }
        out.push('}');
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_declaration() {
        let f = Function::http("HttpHello").route("hello/{name?}").methods(["GET", "post"]);
        assert_eq!(
            f.to_json("hello").unwrap(),
            r#"{"name":"HttpHello","entryPoint":"hello","bindings":[{"type":"httpTrigger","direction":"in","name":"req","authLevel":"anonymous","route":"hello/{name?}","methods":["get","post"]},{"type":"http","direction":"out","name":"res"}]}"#
        );
    }

    #[test]
    fn queue_declaration_with_everything() {
        let f = Function::queue("ProcessJob", "jobs")
            .output(Binding::queue("result", "results"))
            .retry(Retry::fixed_delay(3, "00:00:05"))
            .disabled(false)
            .env(["GREETING"])
            .allowed_hosts(["https://api.example.com"])
            .grant("memoryMB", 64)
            .dir("data", "/data", false);
        assert_eq!(
            f.to_json("process_job").unwrap(),
            concat!(
                r#"{"name":"ProcessJob","entryPoint":"process_job","bindings":["#,
                r#"{"type":"queueTrigger","direction":"in","name":"msg","queueName":"jobs","connection":"AzureWebJobsStorage"},"#,
                r#"{"type":"queue","direction":"out","name":"result","queueName":"results","connection":"AzureWebJobsStorage"}],"#,
                r#""retry":{"strategy":"fixedDelay","maxRetryCount":3,"delayInterval":"00:00:05"},"disabled":false,"#,
                r#""wasmworker":{"env":["GREETING"],"allowedHosts":["https://api.example.com"],"memoryMB":64,"#,
                r#""dirs":[{"path":"data","mount":"/data","writable":false}]}}"#
            )
        );
    }

    #[test]
    fn mistakes_are_reported() {
        assert!(Function::queue("Q", "q").route("x").to_json("q").unwrap_err().contains("httpTrigger"));
        assert!(Function::http("H").binding(Binding::queue_trigger("m", "q")).to_json("h").is_err());
        assert!(Function::new("N", Binding::queue("out", "q")).to_json("n").is_err());
    }
}
