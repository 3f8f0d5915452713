"""Checkout services of the small shop: each function is one request handler's core."""

from django.db import transaction
from django.db.models import F

from .models import Customer, Order, Product


def pay_with_store_credit(customer_id, order_id):
    with transaction.atomic():
        customer = Customer.objects.get(pk=customer_id)
        order = Order.objects.get(pk=order_id)
        # Bug: two concurrent payments both read the same credit.
        customer.store_credit = customer.store_credit - order.total
        customer.save(update_fields=["store_credit"])
        order.status = "paid"
        order.save(update_fields=["status"])


def pay_with_store_credit_safely(customer_id, order_id):
    with transaction.atomic():
        customer = Customer.objects.select_for_update().get(pk=customer_id)
        order = Order.objects.select_for_update().get(pk=order_id)
        if order.status != "cart" or customer.store_credit < order.total:
            raise ValueError("cannot pay this order")
        customer.store_credit -= order.total
        customer.save(update_fields=["store_credit"])
        order.status = "paid"
        order.save(update_fields=["status"])


def add_loyalty_points(customer_id, points):
    # Safe: the database does the arithmetic in one statement.
    Customer.objects.filter(pk=customer_id).update(loyalty_points=F("loyalty_points") + points)


def restock(product_id, quantity):
    product = Product.objects.get(pk=product_id)
    # Bug: a concurrent sale between the read and the save is overwritten.
    product.stock += quantity
    product.save()


def buy(product_id, quantity):
    with transaction.atomic():
        product = Product.objects.get(pk=product_id)
        product.reserve(quantity)
