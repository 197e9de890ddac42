use fezz_abi::{fezz_function, Request};

#[fezz_function]
pub fn hello(_request: Request) {}

fn main() {}
