//! The handlers: a [`Request`] in, a [`Response`] out, the database reached through a
//! closure so tests hand in their own connection and the index never opens one.

use std::ops::DerefMut;

use fezz_abi::json::JsonBodyError;
use fezz_abi::{Request, Response};
use rusqlite::Connection;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::error::ApiError;
use crate::router::{self, Route};
use crate::store::{self, Changes, Todo};

/// The longest title accepted, in characters (Unicode scalar values) after trimming.
pub const MAX_TITLE_CHARS: usize = 200;

/// What `GET /hello` answers.
pub const HELLO: &str = "Hello from fezz!\n";

/// Serves `request`. `connect` is called at most once, and only for routes that use the
/// database; its error becomes the response like any other [`ApiError`].
pub fn respond<C>(request: &Request, connect: impl FnOnce() -> Result<C, ApiError>) -> Response
where
    C: DerefMut<Target = Connection>,
{
    serve(request, connect).unwrap_or_else(|error| error.into_response(&request.context.request_id))
}

fn serve<C>(
    request: &Request,
    connect: impl FnOnce() -> Result<C, ApiError>,
) -> Result<Response, ApiError>
where
    C: DerefMut<Target = Connection>,
{
    let route = router::resolve(&request.method, &request.path)?;
    // Everything about the request is checked before the database is touched.
    let action = match route {
        Route::Index => return Ok(Response::json_pretty(200, &index(request))),
        Route::Hello => return Ok(Response::text(200, HELLO)),
        Route::List => Action::List(done_filter(request)?),
        Route::Create => Action::Create(parse_body(request, Mode::Create)?),
        Route::Replace(id) => Action::Update(id, parse_body(request, Mode::Replace)?),
        Route::Patch(id) => Action::Update(id, parse_body(request, Mode::Patch)?),
        Route::Get(id) => Action::Get(id),
        Route::Delete(id) => Action::Delete(id),
    };
    let mut connection = connect()?;
    let connection = &mut *connection;
    match action {
        Action::List(done) => {
            let todos = store::list(connection, done)?;
            Ok(Response::json_pretty(200, &TodoList { todos }))
        }
        Action::Create(changes) => {
            let title = changes.title.unwrap_or_default();
            let todo = store::create(connection, &title, changes.done.unwrap_or(false))?;
            let location = format!("/todos/{}", todo.id);
            Ok(Response::json_pretty(201, &todo).with_header("location", location))
        }
        Action::Get(id) => found(id, store::get(connection, id)?),
        Action::Update(id, changes) if changes == Changes::default() => {
            // An empty PATCH changes nothing, not even updated_at.
            found(id, store::get(connection, id)?)
        }
        Action::Update(id, changes) => found(id, store::update(connection, id, &changes)?),
        Action::Delete(id) => match store::delete(connection, id)? {
            true => Ok(Response::no_content()),
            false => Err(not_found(id)),
        },
    }
}

/// The body of `GET /todos`.
#[derive(Serialize)]
struct TodoList {
    todos: Vec<Todo>,
}

/// A route with its validated input, ready for the database.
enum Action {
    List(Option<bool>),
    Create(Changes),
    Get(i64),
    Update(i64, Changes),
    Delete(i64),
}

fn found(id: i64, todo: Option<Todo>) -> Result<Response, ApiError> {
    todo.map(|todo| Response::json_pretty(200, &todo))
        .ok_or_else(|| not_found(id))
}

fn not_found(id: i64) -> ApiError {
    ApiError::NotFound(format!("no todo {id}"))
}

/// What each endpoint does, for the index: (method, path pattern, description). A test checks
/// it against [`router::ROUTES`].
pub const ENDPOINT_DOCS: [(&str, &str, &str); 8] = [
    ("GET", "/", "this index"),
    (
        "GET",
        "/hello",
        "a plain-text greeting (the original fezz demo route)",
    ),
    (
        "GET",
        "/todos",
        "list todos, oldest first; ?done=true or ?done=false filters",
    ),
    (
        "POST",
        "/todos",
        "create a todo from {\"title\", \"done\"?}; 201 with a Location header",
    ),
    ("GET", "/todos/:id", "one todo"),
    (
        "PUT",
        "/todos/:id",
        "replace a todo with {\"title\", \"done\"?}; done left out becomes false",
    ),
    (
        "PATCH",
        "/todos/:id",
        "change only the fields given: {\"title\"?, \"done\"?}",
    ),
    ("DELETE", "/todos/:id", "delete a todo; 204"),
];

/// The body of `GET /`, in the order it is written.
#[derive(Serialize)]
struct Index {
    name: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    function: Option<String>,
    description: &'static str,
    endpoints: Vec<EndpointDoc>,
    todo: TodoDoc,
    requests: &'static str,
    errors: &'static str,
    storage: StorageDoc,
    #[serde(rename = "try", skip_serializing_if = "Vec::is_empty")]
    examples: Vec<String>,
}

#[derive(Serialize)]
struct EndpointDoc {
    method: &'static str,
    path: &'static str,
    description: &'static str,
}

#[derive(Serialize)]
struct TodoDoc {
    id: &'static str,
    title: String,
    done: &'static str,
    created_at: &'static str,
    updated_at: &'static str,
}

#[derive(Serialize)]
struct StorageDoc {
    engine: &'static str,
    #[serde(rename = "TODOS_DB")]
    todos_db: String,
}

/// `GET /`: what this function is and how to call it.
fn index(request: &Request) -> Index {
    let context = &request.context;
    let function = (!context.function_id.is_empty())
        .then(|| format!("{}@{}", context.function_id, context.function_version));
    let mut examples = Vec::new();
    if let Some(function) = &function {
        let scheme = context.scheme.as_deref().unwrap_or("http");
        let host = context.host.as_deref().unwrap_or("HOST");
        let base = format!("{scheme}://{host}/rpc/{function}");
        examples.push(format!("curl {base}/hello"));
        examples.push(format!("curl {base}/todos"));
        examples.push(format!(
            "curl {base}/todos -H 'content-type: application/json' -d '{{\"title\": \"try fezz\"}}'"
        ));
    }
    Index {
        name: "todos",
        function,
        description: "The fezz demo function: a todo list API on SQLite. Paths below are relative \
            to /rpc/<id>@<version>; the manifest also mounts /hello, /todos and /todos/:id at the \
            server root.",
        endpoints: ENDPOINT_DOCS
            .iter()
            .map(|&(method, path, description)| EndpointDoc {
                method,
                path,
                description,
            })
            .collect(),
        todo: TodoDoc {
            id: "integer, assigned by the server",
            title: format!(
                "string, required on POST and PUT, 1 to {MAX_TITLE_CHARS} characters after trimming"
            ),
            done: "boolean, default false",
            created_at: "RFC 3339 UTC timestamp, set by the server",
            updated_at: "RFC 3339 UTC timestamp, set by the server",
        },
        requests: "POST, PUT and PATCH take a JSON object with content-type: application/json",
        errors: "JSON {\"error\": {\"code\", \"message\", \"request_id\"}} with status 400, 404, \
            405 (with Allow), 415 or 500",
        storage: StorageDoc {
            engine: "sqlite",
            todos_db: store::db_path(std::env::var_os(store::DB_ENV))
                .display()
                .to_string(),
        },
        examples,
    }
}

/// The `done` filter of `GET /todos?done=true|false` (the first `done`, decoded); other
/// parameters are ignored.
fn done_filter(request: &Request) -> Result<Option<bool>, ApiError> {
    match request.query("done").as_deref() {
        None => Ok(None),
        Some("true") => Ok(Some(true)),
        Some("false") => Ok(Some(false)),
        Some(other) => Err(ApiError::InvalidQuery(format!(
            "done must be true or false, not {other:?}"
        ))),
    }
}

/// Which body a method takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// POST: title required, done optional (false).
    Create,
    /// PUT: the same; done, when left out, becomes false.
    Replace,
    /// PATCH: both optional.
    Patch,
}

/// Fields a client may send back unchanged from a response; ignored.
const READ_ONLY_FIELDS: [&str; 3] = ["id", "created_at", "updated_at"];

/// Checks the content type, parses the body and validates it into [`Changes`]; for Create and
/// Replace both fields are set. The body is read as a `Value`, not straight into a struct, so
/// each wrong field gets its own message.
fn parse_body(request: &Request, mode: Mode) -> Result<Changes, ApiError> {
    let value: Value = request.json().map_err(|error| match error {
        JsonBodyError::NotJson { content_type } => ApiError::UnsupportedMediaType {
            received: content_type,
        },
        JsonBodyError::Empty => {
            ApiError::InvalidJson("the body is empty; send a JSON object".to_owned())
        }
        JsonBodyError::Syntax(error) | JsonBodyError::Shape(error) => {
            ApiError::InvalidJson(format!("the body is not valid JSON: {error}"))
        }
    })?;
    let Value::Object(object) = value else {
        return Err(ApiError::InvalidTodo(format!(
            "the body must be a JSON object, not {}",
            kind(&value)
        )));
    };
    let changes = changes_from(&object)?;
    match mode {
        Mode::Patch => Ok(changes),
        Mode::Create | Mode::Replace => Ok(Changes {
            title: Some(
                changes
                    .title
                    .ok_or_else(|| ApiError::InvalidTodo("title is required".to_owned()))?,
            ),
            done: Some(changes.done.unwrap_or(false)),
        }),
    }
}

fn changes_from(object: &Map<String, Value>) -> Result<Changes, ApiError> {
    if let Some(unknown) = object.keys().find(|key| {
        !matches!(key.as_str(), "title" | "done") && !READ_ONLY_FIELDS.contains(&key.as_str())
    }) {
        return Err(ApiError::InvalidTodo(format!(
            "unknown field {unknown:?}; a todo has title and done"
        )));
    }
    let title = match object.get("title") {
        None => None,
        Some(Value::String(title)) => Some(validate_title(title)?),
        Some(other) => {
            return Err(ApiError::InvalidTodo(format!(
                "title must be a string, not {}",
                kind(other)
            )))
        }
    };
    let done = match object.get("done") {
        None => None,
        Some(Value::Bool(done)) => Some(*done),
        Some(other) => {
            return Err(ApiError::InvalidTodo(format!(
                "done must be a boolean, not {}",
                kind(other)
            )))
        }
    };
    Ok(Changes { title, done })
}

fn validate_title(title: &str) -> Result<String, ApiError> {
    let title = title.trim();
    let length = title.chars().count();
    if length == 0 {
        Err(ApiError::InvalidTodo("title must not be empty".to_owned()))
    } else if length > MAX_TITLE_CHARS {
        Err(ApiError::InvalidTodo(format!(
            "title is {length} characters long; the maximum is {MAX_TITLE_CHARS}"
        )))
    } else {
        Ok(title.to_owned())
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::tests::TempDb;
    use serde_json::json;

    /// A test database plus helpers that call [`respond`] on it.
    struct Api {
        db: TempDb,
        connection: Connection,
    }

    impl Api {
        fn new() -> Self {
            let db = TempDb::new();
            let connection = db.open();
            Api { db, connection }
        }

        fn call(&mut self, request: Request) -> Response {
            let connection = &mut self.connection;
            respond(&request, || Ok(connection))
        }

        fn send(&mut self, method: &str, path: &str, body: &str) -> Response {
            let mut request = Request::new(method, path);
            request
                .headers
                .push(fezz_abi::Header::new("content-type", "application/json"));
            request.body = body.as_bytes().to_vec();
            self.call(request)
        }

        /// GET `target`, split into path and query as hhrf does.
        fn get(&mut self, target: &str) -> Response {
            let mut request = match target.split_once('?') {
                Some((path, query)) => {
                    let mut request = Request::new("GET", path);
                    request.query = Some(query.to_owned());
                    request
                }
                None => Request::new("GET", target),
            };
            request.context.request_id = "test".into();
            self.call(request)
        }
    }

    fn body(response: &Response) -> Value {
        serde_json::from_slice(&response.body).expect("a JSON body")
    }

    fn error_code(response: &Response) -> String {
        body(response)["error"]["code"].as_str().unwrap().to_owned()
    }

    #[test]
    fn index_describes_the_function_without_opening_the_database() {
        let mut request = Request::new("GET", "/");
        request.context.function_id = "todos".into();
        request.context.function_version = "latest".into();
        request.context.host = Some("127.0.0.1:3000".into());
        let response = respond::<&mut Connection>(&request, || panic!("index opened the database"));
        assert_eq!(response.status, 200);
        assert_eq!(
            response.header("content-type"),
            Some(&b"application/json"[..])
        );
        let index = body(&response);
        assert_eq!(index["function"], "todos@latest");
        let endpoints = index["endpoints"].as_array().unwrap();
        assert!(endpoints
            .iter()
            .any(|e| e["method"] == "DELETE" && e["path"] == "/todos/:id"));
        assert!(endpoints.iter().all(|e| e["description"] != ""));
        assert_eq!(
            index["try"][0],
            "curl http://127.0.0.1:3000/rpc/todos@latest/hello"
        );
        // Written in a reading order, not sorted.
        let text = String::from_utf8(response.body).unwrap();
        assert!(text.find("\"name\"").unwrap() < text.find("\"endpoints\"").unwrap());
    }

    #[test]
    fn the_index_documents_exactly_the_routed_endpoints() {
        let mut routed: Vec<(&str, &str)> = router::ROUTES.to_vec();
        let mut documented: Vec<(&str, &str)> = ENDPOINT_DOCS
            .iter()
            .map(|&(method, path, _)| (method, path))
            .collect();
        routed.sort();
        documented.sort();
        assert_eq!(routed, documented);
    }

    #[test]
    fn hello_is_text() {
        let response = respond::<&mut Connection>(&Request::new("GET", "/hello"), || {
            panic!("hello opened the database")
        });
        assert_eq!(response.status, 200);
        assert_eq!(response.body, HELLO.as_bytes());
        assert_eq!(
            response.header("content-type"),
            Some(&b"text/plain; charset=utf-8"[..])
        );
    }

    #[test]
    fn full_crud_cycle() {
        let mut api = Api::new();
        assert_eq!(body(&api.get("/todos")), json!({"todos": []}));

        let created = api.send("POST", "/todos", r#"{"title": "  buy milk  "}"#);
        assert_eq!(created.status, 201);
        assert_eq!(created.header("location"), Some(&b"/todos/1"[..]));
        let todo = body(&created);
        assert_eq!(
            (
                todo["id"].clone(),
                todo["title"].clone(),
                todo["done"].clone()
            ),
            (json!(1), json!("buy milk"), json!(false))
        );

        let second = api.send("POST", "/todos", r#"{"title": "walk", "done": true}"#);
        assert_eq!(body(&second)["done"], true);

        let listed = body(&api.get("/todos"));
        assert_eq!(listed["todos"].as_array().unwrap().len(), 2);
        assert_eq!(body(&api.get("/todos?done=true"))["todos"][0]["id"], 2);
        assert_eq!(body(&api.get("/todos?done=false"))["todos"][0]["id"], 1);

        assert_eq!(body(&api.get("/todos/1")), todo);

        let patched = api.send("PATCH", "/todos/1", r#"{"done": true}"#);
        assert_eq!(patched.status, 200);
        assert_eq!(body(&patched)["title"], "buy milk");
        assert_eq!(body(&patched)["done"], true);

        let replaced = api.send("PUT", "/todos/1", r#"{"title": "buy oat milk"}"#);
        assert_eq!(replaced.status, 200);
        assert_eq!(body(&replaced)["title"], "buy oat milk");
        assert_eq!(body(&replaced)["done"], false, "PUT without done resets it");

        // A todo as returned can be sent back with PUT: the read-only fields are ignored.
        let mut edited = body(&replaced);
        edited["done"] = json!(true);
        let round_trip = api.send("PUT", "/todos/1", &edited.to_string());
        assert_eq!(round_trip.status, 200);
        assert_eq!(body(&round_trip)["done"], true);

        let unchanged = api.send("PATCH", "/todos/1", "{}");
        assert_eq!(body(&unchanged), body(&round_trip));

        let deleted = api.call(Request::new("DELETE", "/todos/1"));
        assert_eq!(deleted.status, 204);
        assert!(deleted.body.is_empty());
        assert_eq!(api.get("/todos/1").status, 404);
        assert_eq!(api.call(Request::new("DELETE", "/todos/1")).status, 404);
        assert_eq!(
            body(&api.get("/todos"))["todos"].as_array().unwrap().len(),
            1
        );
    }

    #[test]
    fn unknown_ids_are_404_for_every_method() {
        let mut api = Api::new();
        assert_eq!(api.get("/todos/42").status, 404);
        assert_eq!(
            api.send("PUT", "/todos/42", r#"{"title": "x"}"#).status,
            404
        );
        assert_eq!(
            api.send("PATCH", "/todos/42", r#"{"done": true}"#).status,
            404
        );
        assert_eq!(api.send("PATCH", "/todos/42", "{}").status, 404);
        let deleted = api.call(Request::new("DELETE", "/todos/42"));
        assert_eq!(deleted.status, 404);
        assert_eq!(error_code(&deleted), "not-found");
    }

    #[test]
    fn unknown_paths_are_404_and_wrong_methods_405_with_allow() {
        let mut api = Api::new();
        let missing = api.get("/nope");
        assert_eq!(missing.status, 404);
        assert_eq!(error_code(&missing), "not-found");

        let wrong = api.call(Request::new("DELETE", "/todos"));
        assert_eq!(wrong.status, 405);
        assert_eq!(wrong.header("allow"), Some(&b"GET, HEAD, POST"[..]));
        assert_eq!(error_code(&wrong), "method-not-allowed");
        let wrong = api.send("POST", "/todos/1", "{}");
        assert_eq!(wrong.status, 405);
        assert_eq!(
            wrong.header("allow"),
            Some(&b"GET, HEAD, PUT, PATCH, DELETE"[..])
        );
    }

    #[test]
    fn bodies_must_be_json_by_content_type() {
        let mut api = Api::new();
        for content_type in [
            None,
            Some("text/plain"),
            Some("application/x-www-form-urlencoded"),
        ] {
            for (method, path) in [
                ("POST", "/todos"),
                ("PUT", "/todos/1"),
                ("PATCH", "/todos/1"),
            ] {
                let mut request = Request::new(method, path);
                if let Some(content_type) = content_type {
                    request
                        .headers
                        .push(fezz_abi::Header::new("content-type", content_type));
                }
                request.body = br#"{"title": "x"}"#.to_vec();
                let response = api.call(request);
                assert_eq!(response.status, 415, "{method} {content_type:?}");
                assert_eq!(error_code(&response), "unsupported-media-type");
            }
        }
        for content_type in [
            "application/json; charset=utf-8",
            "Application/JSON",
            "application/merge-patch+json",
        ] {
            let mut request = Request::new("POST", "/todos");
            request
                .headers
                .push(fezz_abi::Header::new("content-type", content_type));
            request.body = br#"{"title": "x"}"#.to_vec();
            assert_eq!(api.call(request).status, 201, "{content_type}");
        }
    }

    #[test]
    fn invalid_bodies_are_400_with_a_reason() {
        let mut api = Api::new();
        let long = "x".repeat(MAX_TITLE_CHARS + 1);
        let cases = [
            ("", "invalid-json", "empty"),
            ("{", "invalid-json", "not valid JSON"),
            ("\u{feff}{}", "invalid-json", "not valid JSON"),
            ("[]", "invalid-todo", "an array"),
            ("\"title\"", "invalid-todo", "a string"),
            ("{}", "invalid-todo", "title is required"),
            (r#"{"done": true}"#, "invalid-todo", "title is required"),
            (r#"{"title": ""}"#, "invalid-todo", "must not be empty"),
            (r#"{"title": "   "}"#, "invalid-todo", "must not be empty"),
            (
                r#"{"title": null}"#,
                "invalid-todo",
                "title must be a string, not null",
            ),
            (
                r#"{"title": 5}"#,
                "invalid-todo",
                "title must be a string, not a number",
            ),
            (
                r#"{"title": "x", "done": "yes"}"#,
                "invalid-todo",
                "done must be a boolean",
            ),
            (
                r#"{"title": "x", "done": 1}"#,
                "invalid-todo",
                "done must be a boolean",
            ),
            (
                r#"{"title": "x", "titel": "y"}"#,
                "invalid-todo",
                "unknown field \"titel\"",
            ),
        ];
        for (json, code, message) in cases {
            let response = api.send("POST", "/todos", json);
            assert_eq!(response.status, 400, "{json}");
            assert_eq!(error_code(&response), code, "{json}");
            let text = body(&response)["error"]["message"]
                .as_str()
                .unwrap()
                .to_owned();
            assert!(text.contains(message), "{json}: {text}");
        }
        let too_long = api.send("POST", "/todos", &json!({ "title": long }).to_string());
        assert_eq!(too_long.status, 400);
        assert!(body(&too_long)["error"]["message"]
            .as_str()
            .unwrap()
            .contains("maximum is 200"));

        // The limit counts characters, not bytes.
        let wide = "é".repeat(MAX_TITLE_CHARS);
        assert_eq!(
            api.send("POST", "/todos", &json!({ "title": wide }).to_string())
                .status,
            201
        );

        // PATCH validates the fields it is given.
        assert_eq!(
            api.send("PATCH", "/todos/1", r#"{"title": ""}"#).status,
            400
        );
        assert_eq!(
            api.send("PATCH", "/todos/1", r#"{"done": null}"#).status,
            400
        );
        assert_eq!(api.send("PUT", "/todos/1", r#"{"done": true}"#).status, 400);
        // Nothing was created by the failures.
        assert_eq!(
            body(&api.get("/todos"))["todos"].as_array().unwrap().len(),
            1
        );
    }

    #[test]
    fn bad_query_is_400() {
        let mut api = Api::new();
        let response = api.get("/todos?done=maybe");
        assert_eq!(response.status, 400);
        assert_eq!(error_code(&response), "invalid-query");
        let mut request = Request::new("GET", "/todos");
        request.query = Some("page=2&done=false".into());
        assert_eq!(api.call(request).status, 200);
    }

    #[test]
    fn invalid_requests_do_not_open_the_database() {
        for (method, path) in [("GET", "/nope"), ("DELETE", "/todos"), ("POST", "/todos")] {
            let response = respond::<&mut Connection>(&Request::new(method, path), || {
                panic!("{method} {path} opened the database")
            });
            assert!(response.status >= 400);
        }
    }

    #[test]
    fn database_failure_is_500_with_json() {
        let mut request = Request::new("GET", "/todos");
        request.context.request_id = "r-9".into();
        let response = respond::<&mut Connection>(&request, || {
            Err(ApiError::Storage(rusqlite::Error::InvalidQuery))
        });
        assert_eq!(response.status, 500);
        assert_eq!(error_code(&response), "storage-error");
        assert_eq!(body(&response)["error"]["request_id"], "r-9");
    }

    #[test]
    fn the_data_lives_in_the_file() {
        let mut api = Api::new();
        api.send("POST", "/todos", r#"{"title": "kept"}"#);
        let mut reopened = api.db.open();
        let response = respond(&Request::new("GET", "/todos/1"), || Ok(&mut reopened));
        assert_eq!(body(&response)["title"], "kept");
    }
}
