// Full paths and a mutable binding are fine.
#[fezz_abi::fezz_function]
fn handler(
    mut request: fezz_abi::Request,
) -> ::std::result::Result<fezz_abi::Response, fezz_abi::WireError> {
    request.body.push(b'!');
    Ok(fezz_abi::Response::new(200).with_body(request.body))
}

fn main() {}
