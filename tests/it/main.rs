//! End-to-end tests of OMS against a real RabbitMQ and a real MongoDB-compatible server.

mod analytics;
mod auth;
mod broker_outage;
mod browser;
mod cluster;
mod faults;
mod health;
mod helpers;
mod hostile;
mod http_errors;
mod images;
mod lifecycle;
mod lists;
mod notifications;
mod openapi;
mod ops;
mod order_batch;
mod orders;
mod placement_paths;
mod private_rabbit;
mod products;
mod stock_batch;
mod verify;
mod webhooks;
