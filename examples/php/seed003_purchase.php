<?php
// Seed 003: an oversold purchase. The buyer's balance and the goods' stock are checked in PHP,
// then both are decremented in the database with nothing to stop them going below zero when two
// purchases pass the checks together.
//
//   php seed003_purchase.php DSN USER USERS_TABLE GOODS_TABLE ORDERS_TABLE bad|fixed REQUEST_ID
//
// `bad`: the decrements have no lower bound (TX106); `fixed`: each decrement is bounded in its own
// WHERE and its row count decides.
[$script, $dsn, $user, $users, $goods, $orders, $variant, $request] = $argv;
$db = new PDO($dsn, $user, getenv('TXLINT_DB_PASSWORD') ?: '', [PDO::ATTR_ERRMODE => PDO::ERRMODE_EXCEPTION]);
$price = 30;

$db->beginTransaction();
$buyer = $db->query("SELECT id, balance FROM $users WHERE id = 1")->fetch(PDO::FETCH_ASSOC);
$item = $db->query("SELECT id, stock FROM $goods WHERE id = 1")->fetch(PDO::FETCH_ASSOC);
if ($buyer['balance'] < $price || $item['stock'] < 1) {
    $db->rollBack();
    exit(1);
}
// The order, keyed by the request: a retried request is refused by the unique key.
$db->prepare("INSERT INTO $orders (request_id, user_id, goods_id) VALUES (?, ?, ?)")->execute([$request, 1, 1]);
if ($variant === 'fixed') {
    $pay = $db->prepare("UPDATE $users SET balance = balance - ? WHERE id = ? AND balance >= ?");
    $pay->execute([$price, 1, $price]);
    $take = $db->prepare("UPDATE $goods SET stock = stock - 1 WHERE id = ? AND stock >= 1");
    $take->execute([1]);
    if ($pay->rowCount() !== 1 || $take->rowCount() !== 1) {
        $db->rollBack();
        exit(1);
    }
} else {
    $db->prepare("UPDATE $users SET balance = balance - ? WHERE id = ?")->execute([$price, 1]);
    $db->prepare("UPDATE $goods SET stock = stock - 1 WHERE id = ?")->execute([1]);
}
$db->commit();
