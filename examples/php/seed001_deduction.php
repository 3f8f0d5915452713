<?php
// Seed 001: two payments from one account, 100 - 50 - 40. Each request reads the balance, works
// out the new one in PHP and writes it back. Without a row lock two requests read the same 100
// and the second write loses the first deduction.
//
//   php seed001_deduction.php DSN USER ACCOUNTS_TABLE bad|fixed AMOUNT
//
// `bad` reads with a plain SELECT (TX101, lost update); `fixed` with SELECT ... FOR UPDATE.
[$script, $dsn, $user, $table, $variant, $amount] = $argv;
$db = new PDO($dsn, $user, getenv('TXLINT_DB_PASSWORD') ?: '', [PDO::ATTR_ERRMODE => PDO::ERRMODE_EXCEPTION]);

$db->beginTransaction();
$lock = $variant === 'fixed' ? ' FOR UPDATE' : '';
$read = $db->prepare("SELECT id, money FROM $table WHERE id = ?$lock");
$read->execute([1]);
$account = $read->fetch(PDO::FETCH_ASSOC);
$newMoney = $account['money'] - (int) $amount;
if ($newMoney < 0) {
    $db->rollBack();
    exit(1);
}
$write = $db->prepare("UPDATE $table SET money = ? WHERE id = ?");
$write->execute([$newMoney, 1]);
$db->commit();
