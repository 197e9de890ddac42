use fezz_abi::{fezz_function, Request, Response, WireError};

#[fezz_function]
pub fn guarded(request: Request) -> Result<Response, WireError> {
    if request.path == "/fail" {
        return Err(WireError::new("refused", "this path fails the call"));
    }
    Ok(Response::new(204))
}

fn main() {}
