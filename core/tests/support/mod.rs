pub mod http_op;
