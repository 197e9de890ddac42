use fezz_abi::fezz_function;

#[fezz_function]
pub struct Handler;

fn main() {}
