-- An allocation-heavy, deterministic SQL workload for the sqlite3 shell
-- (in-memory database).
CREATE TABLE customer(id INTEGER PRIMARY KEY, name TEXT, city TEXT);
CREATE TABLE item(id INTEGER PRIMARY KEY, title TEXT, price INTEGER);
CREATE TABLE orders(id INTEGER PRIMARY KEY, customer INTEGER, item INTEGER, qty INTEGER, note TEXT);

WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 20000)
INSERT INTO customer SELECT i, 'customer-' || i, 'city-' || (i * 7919 % 97) FROM c;
WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 5000)
INSERT INTO item SELECT i, printf('item %05d %s', i, substr('abcdefghijklmnopqrstuvwxyz', i % 26 + 1)), (i * 31) % 997 + 1 FROM c;
WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 150000)
INSERT INTO orders SELECT i, (i * 104729) % 20000 + 1, (i * 7907) % 5000 + 1, i % 7 + 1,
    printf('order %d for %d', i, (i * 104729) % 20000 + 1) || replace(hex(i * 2654435761), '0', 'x') FROM c;

CREATE INDEX orders_customer ON orders(customer);
CREATE INDEX orders_item ON orders(item);

SELECT count(*), sum(qty), total(length(note)) FROM orders;
SELECT city, count(*) AS n, sum(o.qty * i.price) AS revenue
  FROM orders o JOIN customer c ON c.id = o.customer JOIN item i ON i.id = o.item
  GROUP BY city ORDER BY revenue DESC, city LIMIT 10;
SELECT i.title, sum(o.qty) AS sold FROM orders o JOIN item i ON i.id = o.item
  GROUP BY i.id ORDER BY sold DESC, i.id LIMIT 5;
SELECT customer, n, rank FROM (
  SELECT customer, count(*) AS n, rank() OVER (ORDER BY count(*) DESC, customer) AS rank
  FROM orders GROUP BY customer) WHERE rank <= 5;
SELECT length(group_concat(note, ';')), count(DISTINCT substr(note, 1, 12)) FROM orders;
UPDATE orders SET note = note || note WHERE id % 3 = 0;
DELETE FROM orders WHERE id % 5 = 0;
SELECT count(*), total(length(note)), max(note) FROM orders;
CREATE TABLE summary AS SELECT customer, group_concat(item, ',') AS items FROM orders GROUP BY customer;
SELECT count(*), sum(length(items)), min(items) FROM summary;
