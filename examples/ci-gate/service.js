'use strict';
// A small service under test: it handles "orders" and keeps a per-customer session.
// With LEAK=1 it has the classic bug: every call adds a listener to a long-lived emitter
// and caches the session forever.
const { EventEmitter } = require('events');

const events = new EventEmitter();
events.setMaxListeners(0);
const sessions = new Map();

class Session {
  constructor(customer) {
    this.customer = customer;
    this.createdAt = Date.now();
    this.items = [];
  }
}

function handleOrder(customer, item) {
  const session = new Session(customer);
  session.items.push(item);
  const onReload = () => session.items.length;
  events.on('reload', onReload);
  if (process.env.LEAK === '1') {
    sessions.set(`${customer}-${session.createdAt}-${item}`, session);
  } else {
    events.removeListener('reload', onReload);
  }
  return session.items.length;
}

module.exports = { handleOrder };
